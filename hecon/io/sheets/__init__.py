"""One module per sheet family of the input workbook, each both reading its sheet into the
:class:`~hecon.model.Model` and writing it back from one; :mod:`hecon.io.tables` assembles them."""
