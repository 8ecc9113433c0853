"""Render an analysis for people and machines: text, JSON, SARIF 2.1.0, GitHub annotations."""
