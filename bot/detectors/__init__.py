"""Detectors: rules that read files and yield findings with fixes as data. They never write."""
