"""The BNCVL layer: its functions, the reference module, the faster variants and their registry."""
