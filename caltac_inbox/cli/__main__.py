"""`python -m caltac_inbox.cli`: the console script."""
from caltac_inbox.cli import main

if __name__ == "__main__":
    main()
