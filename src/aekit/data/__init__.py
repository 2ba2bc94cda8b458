"""Turning user data into arrays: files, DataFrames and bundled examples."""

from aekit.data.idx import load_mnist, read_idx
from aekit.data.tabular import read_table

__all__ = ["load_mnist", "read_idx", "read_table"]
