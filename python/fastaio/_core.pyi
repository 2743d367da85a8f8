# Type stubs for fastaio's compiled core (see fastaio/_pycore.py for the
# behaviour of each name).
from asyncio import AbstractEventLoop, Task
from typing import Any, Optional

NATIVE_CURRENT_TASK: int

def current_task(loop: Optional[AbstractEventLoop] = ...) -> Optional[Task[Any]]: ...
