"""kombu's filesystem transport (the embedded broker) with one change: a message file
appears in the queue folder only once it is whole.

kombu creates the message file, then writes into it. A worker polling the folder in
between moves the empty file away, fails to decode it and stops with "Unrecoverable
error: JSONDecodeError" (kombu issue #1551); under `make demo` that stops web and beat
too. Here the message is written under a name no reader matches, then renamed into
place, which is atomic within one folder: a reader sees the whole message or nothing.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        # The name kombu gives a message: readers take files in name order.
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # Readers match "<anything>.<queue>.msg" from the first dot: this never matches.
        partial = os.path.join(self.data_folder_out, f".{name}.partial")
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.remove(partial)
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
