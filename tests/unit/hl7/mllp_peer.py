"""A real MLLP peer from Debian's python3-hl7 (hl7.client.MLLPClient, hl7.mllp server) for
radflow's MLLP tests.

  mllp_peer.py send HOST PORT FILE   sends FILE's message, prints the reply (ACK) to stdout
  mllp_peer.py serve COUNT           serves on a free port: prints "PORT n", acknowledges each
                                     message with Message.create_ack("AA"), prints
                                     "GOT <MSH-10>"; exits after COUNT messages (or 30 s)
"""
import asyncio
import sys

import hl7
import hl7.mllp
from hl7.client import MLLPClient


def send(host, port, path):
    with open(path, "rb") as f:
        message = f.read()
    with MLLPClient(host, int(port)) as client:
        reply = client.send_message(message)
    # The reply is framed: <VT> ack <FS><CR>.
    sys.stdout.write(reply.strip(b"\x0b\x1c\r").decode("utf-8"))


async def serve(count):
    done = asyncio.Event()
    received = []

    async def on_client(reader, writer):
        try:
            while True:
                message = await reader.readmessage()
                print("GOT " + str(message.segment("MSH")(10)), flush=True)
                writer.writemessage(message.create_ack("AA"))
                await writer.drain()
                received.append(message)
                if len(received) >= count:
                    done.set()
        except (asyncio.IncompleteReadError, hl7.mllp.InvalidBlockError, ConnectionError):
            writer.close()

    server = await hl7.mllp.start_hl7_server(on_client, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print("PORT %d" % port, flush=True)
    try:
        await asyncio.wait_for(done.wait(), 30)
    except asyncio.TimeoutError:
        pass
    await asyncio.sleep(0.1)  # let the last ACK leave
    server.close()


if __name__ == "__main__":
    if sys.argv[1] == "send":
        send(*sys.argv[2:5])
    else:
        asyncio.run(serve(int(sys.argv[2])))
