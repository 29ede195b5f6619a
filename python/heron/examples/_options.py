"""Command-line options shared by the examples: threads, seed, checkpoints, progress (all of
them), sampling (the text models tiny_gpt and char_lstm), and the checks of option values."""
from __future__ import annotations

import heron


def add_training_options(add, checkpoint, checkpoint_help):
    """Adds --threads, --seed, --checkpoint (default ``checkpoint``), --resume and
    --no-progress through ``add`` (a parser's add_argument)."""
    add("--threads", type=int, default=None)
    add("--seed", type=int, default=0)
    add("--checkpoint", default=checkpoint, help=f"{checkpoint_help} ('' to skip)")
    add("--resume", default=None, help="checkpoint to continue training from")
    add("--no-progress", action="store_true")


def add_run_options(add, checkpoint, checkpoint_help):
    """The training options and, for the text models, --sample-tokens, --temperature and --prompt."""
    add_training_options(add, checkpoint, checkpoint_help)
    add("--sample-tokens", type=int, default=300, help="characters to sample at the end (0: none)")
    add("--temperature", type=float, default=0.8)
    add("--prompt", default="\n")


def check_positive(parser, args, positive):
    """Exits with a usage error unless the options named in ``positive`` are positive (or
    unset). Returns ``args``."""
    for name in positive:
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer, got {value}")
    return args


def check_options(parser, args, positive):
    """check_positive, and also --dropout in [0, 1) and a positive --temperature. Returns ``args``."""
    check_positive(parser, args, positive)
    if not 0.0 <= args.dropout < 1.0:
        parser.error(f"--dropout must be in [0, 1), got {args.dropout}")
    if args.temperature <= 0:
        parser.error(f"--temperature must be positive, got {args.temperature}")
    return args


def apply_run_options(args):
    """Sets heron's thread count (--threads) and seeds its generator (--seed). Returns ``args``."""
    if args.threads is not None:
        heron.set_num_threads(args.threads)
    heron.manual_seed(args.seed)
    return args
