"""Regenerate inputs/cilta_cel_mm.xlsx from hecon.examples.cilta_cel_sequencing().

    python inputs/make_default_workbook.py

A test checks that the committed workbook is current (same tables as the Python model).
"""

from pathlib import Path

from hecon.examples import cilta_cel_sequencing
from hecon.io.workbook_in import write_input_workbook

if __name__ == "__main__":
    out = Path(__file__).with_name("cilta_cel_mm.xlsx")
    write_input_workbook(cilta_cel_sequencing(), out, force=True)
    print(f"wrote {out}")
