"""Measuring a layer: the timer, shape presets, workloads, memory, NVML sampling and machine facts."""
