"""``python -m eqscale`` runs the command line (also the torchrun entry point)."""

from eqscale.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
