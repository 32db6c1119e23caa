"""The ``perceiver-rl`` commands, one module each: ``add_parser(subparsers)`` registers the command's options and
``run(args) -> int`` carries it out, returning the exit status. ``agents.app.cli`` assembles them; the helpers they
share (the one-line error, the Ray session, option types) are :mod:`agents.app.commands.common`.

A command imports torch, Ray and pysc2 inside ``run``, never at the top of its module: ``perceiver-rl --help``
and ``perceiver-rl list`` answer without loading any of them.
"""
