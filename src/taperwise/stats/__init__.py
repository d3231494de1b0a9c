"""Pure statistical engines: arrays and DataFrames in, frozen result objects out.

No database, no files, no printing (DESIGN.md §1 rule 1).
"""
