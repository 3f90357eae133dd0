"""caltac-inbox: CalTAC, ETS and CDE notices in, dated facts out."""

__version__ = "0.1.0"
