# Type stubs for fastaio's compiled core (see fastaio/_pycore.py for the
# behaviour of each name); its public names are those of the package.
from fastaio import Barrier as Barrier
from fastaio import BrokenBarrierError as BrokenBarrierError
from fastaio import Task as Task
from fastaio import create_eager_task_factory as create_eager_task_factory
from fastaio import current_task as current_task
from fastaio import eager_task_factory as eager_task_factory
from fastaio import gather as gather

NATIVE_CURRENT_TASK: int
MAX_EAGER_DEPTH: int
