"""Run the mock upstream in the foreground: python -m tests.mocks --port 9999"""

import argparse
import threading

from .server import MockUpstream


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.mocks", description="Mock OpenAI/Anthropic upstream.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9999)
    parser.add_argument("--response-delay", type=float, default=0.0, help="seconds before each reply or stream starts")
    parser.add_argument("--stream-delay", type=float, default=0.0, help="seconds between streamed events")
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    args = parser.parse_args()

    with MockUpstream(args.host, args.port, log_requests=not args.quiet) as mock:
        mock.response_delay, mock.stream_delay = args.response_delay, args.stream_delay
        print(f"mock upstream: Anthropic base_url {mock.url}, OpenAI base_url {mock.openai_url}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
