"""Parquet files, the form dataset hubs publish, -> records, streamed a batch of rows at a time.

A record is the row as a dict (nested lists and structs become lists and dicts, as in JSON), so the
row normalisers of formats.py apply unchanged. Bad rows name their 1-based row number: Parquet has
no lines. Parquet fills a struct field that a row lacks with None, so normalisers treat None like absent.
"""

from .samples import FormatError

BATCH_ROWS = 1024  # rows held in memory at once; iter_batches never reads past the row group it needs


def parquet_records(path: str, name: str):
    """Yields (row number, record); raises FormatError for a file pyarrow cannot read."""
    try:
        import pyarrow
        import pyarrow.parquet as pq
    except ImportError:
        raise FormatError(f"{name}: reading Parquet needs the pyarrow package (pip install pyarrow)") from None
    row = 0
    try:
        source = pq.ParquetFile(path)
        for batch in source.iter_batches(batch_size=BATCH_ROWS):
            for record in batch.to_pylist():
                row += 1
                yield row, record
    except (pyarrow.ArrowException, OSError) as exc:
        where = f" row {row + 1}" if row else ""
        raise FormatError(f"{name}{where}: not a readable Parquet file ({exc})") from None
