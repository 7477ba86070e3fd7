"""``python -m iqa`` runs the command line, so ``torchrun --nproc-per-node N -m iqa score ...`` works.

torchrun starts ``python -m iqa`` once per rank; the commands read the rank from the environment
(:mod:`iqa.api.distributed`).
"""

from iqa.cli.main import main

if __name__ == "__main__":
    main()
