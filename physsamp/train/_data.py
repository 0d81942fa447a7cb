"""Checks on training data: binary rows in the model's units, before any compute."""

from __future__ import annotations

from typing import Any

import numpy as np

from physsamp.models.base import EnergyModel


def check_data(model: EnergyModel, data: Any, num_columns: int, what: str = "data") -> np.ndarray:
    """``data`` as ``int8 [rows, num_columns]`` in the model's units, or a ``ValueError`` that
    names the first offending row and column (NaN, a value outside the two units, units of the
    other convention, rows of the wrong length, an empty set)."""
    try:
        rows = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{what} must be a numeric array [rows, {num_columns}]") from error
    if rows.ndim == 1 and rows.size == num_columns:
        rows = rows[None]
    if rows.ndim != 2:
        raise ValueError(
            f"{what} must be a 2-d array [rows, {num_columns}], got shape {rows.shape}"
        )
    if rows.shape[0] == 0:
        raise ValueError(f"{what} is empty: it has no rows")
    if rows.shape[1] != num_columns:
        raise ValueError(
            f"{what} rows have length {rows.shape[1]}, but the model has {num_columns} "
            f"visible units"
        )
    nan = np.argwhere(np.isnan(rows))
    if nan.size:
        row, column = (int(i) for i in nan[0])
        raise ValueError(f"{what} has NaN at row {row}, column {column}")
    down, up = model.unit_values
    bad = np.argwhere((rows != down) & (rows != up))
    if bad.size:
        row, column = (int(i) for i in bad[0])
        value = rows[row, column]
        name = type(model).__name__
        if np.isin(rows, (-1, 1)).all() and (down, up) == (0, 1):
            hint = f"; it holds -1/+1 spins but {name} units are 0/1: pass (data + 1) // 2"
        elif np.isin(rows, (0, 1)).all() and (down, up) == (-1, 1):
            hint = f"; it holds 0/1 bits but {name} units are -1/+1 spins: pass 2 * data - 1"
        else:
            hint = f"; {name} units take the values {down} and {up} (binarise the data first)"
        raise ValueError(f"{what} row {row} has {value:g} at column {column}{hint}")
    return rows.astype(np.int8)
