"""An OpenAI-compatible streaming endpoint that reports every request to Tally.

Copy the pattern, not the fake model: a ``RequestTimer`` starts when the request
arrives, ``first_token()`` is marked right before the first streamed chunk goes out,
and one frame is recorded when the response ends (in ``finally``, so that errors and
client disconnects are counted too). ``record`` never blocks the event loop and never
raises.

Run it (a tallyd listening on tcp://127.0.0.1:7411)::

    pip install ./python/tally-client fastapi uvicorn
    TALLY_ENDPOINT=tcp://127.0.0.1:7411 uvicorn fastapi_streaming:app_from_environment --factory --port 8000
    curl -N localhost:8000/v1/chat/completions -H 'content-type: application/json' \
         -d '{"model": "demo-7b", "stream": true, "messages": [{"role": "user", "content": "hi"}]}'
"""
import asyncio
import json
import os
import time
import uuid
from contextlib import asynccontextmanager
from typing import List, Optional

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel

from tally_client import RequestTimer, TallyClient

#: The fake model's whole answer, one token per word.
REPLY = ("Tally counts every request once: latency, time to first token, tokens and "
         "outcome, batched and sent without ever blocking the server.").split(" ")


class Message(BaseModel):
    role: str
    content: str


class ChatRequest(BaseModel):
    model: str
    messages: List[Message]
    stream: bool = False
    max_tokens: Optional[int] = None
    user: Optional[str] = None


def count_tokens(messages):
    """A stand-in tokenizer: whitespace-separated words."""
    return sum(len(m.content.split()) for m in messages)


def create_app(tally, token_delay_s=0.002, model_version="2026-11", route="chat", lifespan=None):
    """The app, recording into ``tally`` (a :class:`TallyClient`, owned by the caller;
    also at ``app.state.tally``, e.g. for a health endpoint showing its counters)."""
    app = FastAPI(lifespan=lifespan)
    app.state.tally = tally

    def record(body, http_request, timer, output_tokens, status, error_class=None):
        tally.record(
            model=body.model, model_version=model_version, route=route,
            input_tokens=count_tokens(body.messages), output_tokens=output_tokens,
            status=status, error_class=error_class,
            user_id=body.user,                                   # hashed by the client
            session_id=http_request.headers.get("x-session-id"),  # hashed by the client
            tags={"tenant": http_request.headers.get("x-tenant", "unknown"),
                  "stream": "true" if body.stream else "false"},
            **timer.fields())

    @app.post("/v1/chat/completions")
    async def chat_completions(body: ChatRequest, http_request: Request):
        timer = RequestTimer()
        limit = len(REPLY) if body.max_tokens is None else max(0, min(body.max_tokens, len(REPLY)))
        tokens = REPLY[:limit]
        completion_id = "chatcmpl-" + uuid.uuid4().hex[:16]
        created = int(time.time())

        def chunk(delta, finish_reason=None):
            return "data: " + json.dumps({
                "id": completion_id, "object": "chat.completion.chunk", "created": created,
                "model": body.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            }) + "\n\n"

        if not body.stream:
            timer.inference_started()
            await asyncio.sleep(token_delay_s * len(tokens))
            record(body, http_request, timer, len(tokens), "ok")
            return JSONResponse({
                "id": completion_id, "object": "chat.completion", "created": created,
                "model": body.model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": " ".join(tokens)}}],
                "usage": {"prompt_tokens": count_tokens(body.messages),
                          "completion_tokens": len(tokens),
                          "total_tokens": count_tokens(body.messages) + len(tokens)},
            })

        async def stream():
            sent = 0
            status, error_class = "ok", None
            try:
                timer.inference_started()
                yield chunk({"role": "assistant"})
                for token in tokens:
                    await asyncio.sleep(token_delay_s)  # the model "generating"
                    if sent == 0:
                        timer.first_token()  # TTFT: the first content chunk goes out now
                    yield chunk({"content": token if sent == 0 else " " + token})
                    sent += 1
                yield chunk({}, "stop")
                yield "data: [DONE]\n\n"
            except (asyncio.CancelledError, GeneratorExit):
                status = "cancelled"  # the caller went away mid-stream
                raise
            except Exception:
                status, error_class = "error", "internal"
                raise
            finally:
                record(body, http_request, timer, sent, status, error_class)

        return StreamingResponse(stream(), media_type="text/event-stream")

    return app


def app_from_environment():
    """The app with a client of its own, connected to ``$TALLY_ENDPOINT`` (comma-separated
    endpoints) and closed at shutdown; for ``uvicorn --factory``."""
    tally = TallyClient(endpoints=os.environ.get("TALLY_ENDPOINT", "tcp://127.0.0.1:7411").split(","))

    @asynccontextmanager
    async def lifespan(_app):
        yield
        tally.close(timeout=2.0)  # deliver what is buffered before the server exits

    return create_app(tally, lifespan=lifespan)

