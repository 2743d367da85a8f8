"""Turns fastaio on, in every process of a pyperformance benchmark, the way
a program does it: ``FASTAIO_BENCH_VARIANT`` says how.

``fastaio install``
    every loop that asyncio's ``new_event_loop()`` makes gets
    ``fastaio.install(loop)`` (pyperf's runner makes its loop that way);
``fastaio loop``
    ``new_event_loop()`` returns ``fastaio.new_event_loop()``;
anything else: nothing.

``FASTAIO_BENCH_LOOP=uvloop`` makes the loops uvloop's.  This file is put
on ``PYTHONPATH`` by ``benchmarks/pyperformance_tree.py`` only.
"""
import asyncio
import os
import warnings

_variant = os.environ.get("FASTAIO_BENCH_VARIANT", "")
_loop = os.environ.get("FASTAIO_BENCH_LOOP", "asyncio")

if _loop == "uvloop":
    import uvloop
    _Policy = uvloop.EventLoopPolicy
else:
    _Policy = asyncio.DefaultEventLoopPolicy


def _policy_class():
    import fastaio

    class FastaioPolicy(_Policy):
        def new_event_loop(self):
            if _variant == "fastaio loop" and _loop == "asyncio":
                return fastaio.new_event_loop()
            return fastaio.install(super().new_event_loop())
    return FastaioPolicy


with warnings.catch_warnings():
    # Event loop policies are deprecated from 3.14 on; they still work.
    warnings.simplefilter("ignore", DeprecationWarning)
    if _variant in ("fastaio install", "fastaio loop"):
        asyncio.set_event_loop_policy(_policy_class()())
    elif _loop == "uvloop":
        asyncio.set_event_loop_policy(_Policy())
