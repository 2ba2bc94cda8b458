"""Turning user data into arrays: files, DataFrames and bundled examples."""

from aekit.data.chunks import ChunkedTable, open_table
from aekit.data.idx import load_mnist, read_idx
from aekit.data.images import (
    read_image_array,
    read_image_folder,
    read_images,
    write_images,
)
from aekit.data.odds import load_odds
from aekit.data.ratings import (
    frame_to_matrix,
    load_movielens,
    lookup,
    read_item_titles,
    read_ratings,
)
from aekit.data.tabular import read_frame, read_table

__all__ = [
    "ChunkedTable",
    "frame_to_matrix",
    "open_table",
    "load_mnist",
    "load_movielens",
    "load_odds",
    "lookup",
    "read_idx",
    "read_image_array",
    "read_image_folder",
    "read_images",
    "read_item_titles",
    "read_ratings",
    "read_frame",
    "read_table",
    "write_images",
]
