"""Misuses of fastaio's public API: every line marked "# error" must be
reported by a type checker, and no other line."""
import asyncio

import fastaio


async def main() -> int:
    return 1


fastaio.Barrier("3")  # error
fastaio.create_task(42)  # error
x: str = fastaio.run(main())  # error
fastaio.install(loop=123)  # error
fastaio.timeout("soon")  # error
y: str = fastaio.gather(main())  # error
fastaio.TaskGroup().create_task(main)  # error
fastaio.uninstall(asyncio)  # error
