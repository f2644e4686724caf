"""The bncvl asv suite (see README, "The asv suite"). Nothing heavy is imported here."""
