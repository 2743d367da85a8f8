"""pytest options of the benchmarks: ``--bench-round K`` rotates the order
of the variants of each benchmark by K, so that over the rounds of
``benchmarks/run.py`` every variant runs in every position;
``--bench-loops``/``--bench-only`` keep some loops/benchmarks."""
import variants


def pytest_addoption(parser):
    group = parser.getgroup("fastaio benchmarks")
    group.addoption("--bench-round", type=int, default=0,
                    help="rotate the variants of each benchmark by this")
    group.addoption("--bench-loops", default="",
                    help="comma-separated loops to run (default: all)")
    group.addoption("--bench-only", default="",
                    help="comma-separated benchmark names (default: all)")


def pytest_collection_modifyitems(config, items):
    k = config.getoption("--bench-round")
    loops = [x for x in config.getoption("--bench-loops").split(",") if x]
    only = [x for x in config.getoption("--bench-only").split(",") if x]
    kept, order = [], {}
    for pos, item in enumerate(items):
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "variant" not in params:
            kept.append((pos, 0, 0, item))
            continue
        if loops and params["loop_name"] not in loops:
            continue
        if only and params["bench"] not in only:
            continue
        block = (params["bench"], params["loop_name"])
        order.setdefault(block, len(order))
        rank = variants.rotated(variants.VARIANTS, k).index(
            params["variant"])
        kept.append((order[block], 1, rank, item))
    kept.sort(key=lambda t: t[:3])
    items[:] = [t[3] for t in kept]
