"""Build script for fastaio's compiled core.

``FASTAIO_NO_EXTENSIONS=1`` at build time installs the pure-Python
implementation only; interpreters other than CPython always get it.
"""
import os
import platform
import shutil
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.sdist import sdist as _sdist

HERE = Path(__file__).parent
SRC = Path("src") / "_fastaio"


def _no_extensions():
    if platform.python_implementation() != "CPython":
        return True
    return os.environ.get("FASTAIO_NO_EXTENSIONS", "") not in ("", "0")


def _extensions():
    if _no_extensions():
        return []
    debug = os.environ.get("FASTAIO_DEBUG_BUILD", "") not in ("", "0")
    if sys.platform == "win32":
        cflags = ["/Od", "/Zi"] if debug else []
    else:
        cflags = ["-O0", "-g3", "-UNDEBUG"] if debug else ["-O3"]
        cflags += ["-Wall", "-Wextra", "-Wno-unused-parameter",
                   "-Wno-missing-field-initializers"]
    # One extension module, fastaio._core, built from every src/_fastaio/*.c
    # (module.c holds its init); the headers are its dependencies.
    headers = [str(SRC / h.name) for h in sorted((HERE / SRC).glob("*.h"))]
    sources = [str(SRC / c.name) for c in sorted((HERE / SRC).glob("*.c"))]
    exts = [Extension("fastaio._core", sources=sources, depends=headers,
                      extra_compile_args=cflags)] if sources else []
    pyx = sorted((HERE / SRC).glob("*.pyx"))
    if pyx:
        from Cython.Build import cythonize

        exts += cythonize(
            [Extension("fastaio." + p.stem, [str(SRC / p.name)],
                       extra_compile_args=cflags) for p in pyx],
            compiler_directives={"language_level": 3, "embedsignature": True},
            build_dir="build/cython",
        )
    return exts + _pure_mode_extensions(cflags)


# Compiled twins of pure-Python modules: fastaio.<name> is
# python/fastaio/<source>.py compiled in Cython's pure-Python mode with the
# declarations of src/_fastaio/<name>.pxd; the pure module stays importable.
PURE_MODE = {"_ctasks": "_tasks", "_ctaskgroups": "_taskgroups"}


def _pure_mode_extensions(cflags):
    from Cython.Build import cythonize

    # Cython pairs a .py with the .pxd of the same name in the same package
    # directory: both are copied, under the compiled module's name, into
    # build/cython/fastaio/, whose .pxd files the twins cimport.
    out = Path("build") / "cython" / "fastaio"
    (HERE / out).mkdir(parents=True, exist_ok=True)
    (HERE / out / "__init__.pxd").touch()
    exts = []
    for name, source in PURE_MODE.items():
        shutil.copyfile(HERE / "python" / "fastaio" / (source + ".py"),
                        HERE / out / (name + ".py"))
        shutil.copyfile(HERE / SRC / (name + ".pxd"),
                        HERE / out / (name + ".pxd"))
        # Heap types, so that the classes can be given the module they are
        # published in (fastaio.TaskGroup).
        exts.append(Extension("fastaio." + name, [str(out / (name + ".py"))],
                              define_macros=[("CYTHON_USE_TYPE_SPECS", "1")],
                              extra_compile_args=cflags))
    # freethreading_compatible: the twins keep no global state of their own
    # beyond what is set at import, and a TaskGroup belongs to one loop, so
    # the module does not ask free-threaded builds to turn the GIL back on.
    return cythonize(
        exts, include_path=[str(out.parent)],
        compiler_directives={"language_level": 3, "embedsignature": True,
                             "freethreading_compatible": True})


class sdist(_sdist):
    """The sdist also carries the whole test-suite, the benchmarks and the
    pinned build constraints, so wheels built from it can be tested."""

    def make_distribution(self):
        for pattern in ("tests/*.py", "benchmarks/*.py", "src/_fastaio/*",
                        ".ci/constraints.txt"):
            for path in sorted(HERE.glob(pattern)):
                name = str(path.relative_to(HERE))
                if name not in self.filelist.files:
                    self.filelist.files.append(name)
        super().make_distribution()


setup(ext_modules=_extensions(), cmdclass={"sdist": sdist})
