"""Turning user data into arrays: files, DataFrames and bundled examples."""

from aekit.data.tabular import read_table

__all__ = ["read_table"]
