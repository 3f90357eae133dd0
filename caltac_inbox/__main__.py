"""`python -m caltac_inbox`: the same command line as the `caltac-inbox` script."""
from caltac_inbox.cli import main

if __name__ == "__main__":
    main(prog_name="caltac-inbox")
