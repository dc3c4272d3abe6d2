"""`instructembed serve` as a real process: the API key from the environment, then a call with the openai client."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import httpx
import numpy as np
import openai
import typer
from typer.testing import CliRunner

from instructembed.cli import serve
from instructembed.errors import InstructEmbedError
from server_process import wait_for_health

cli = typer.Typer()
serve.register(cli)
cli.command("noop", hidden=True)(lambda: None)


def test_help_teaches_by_example():
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0 and "instructembed serve --port 8080" in result.output and "curl" in result.output


def test_bad_limits_fail_before_the_model_loads():
    result = CliRunner().invoke(cli, ["serve", "--max-inputs", "10", "--max-queue-rows", "5"])
    assert isinstance(result.exception, InstructEmbedError) and "max_queue_rows" in str(result.exception)


def test_real_process_with_key_from_environment(default_model):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = os.environ | {"INSTRUCTEMBED_API_KEY": "from-env"}
    process = subprocess.Popen(
        [sys.executable, "-m", "instructembed", "serve", "--port", str(port), "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_health(process, url)
        assert httpx.post(f"{url}/v1/embeddings", json={"input": "x"}).status_code == 401
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="from-env", max_retries=0)
        response = client.embeddings.create(model="default", input=["hello"], extra_body={"instruction": "Represent the greeting:"})
        expected = default_model.encode(["hello"], instruction="Represent the greeting:")
        assert np.abs(np.array(response.data[0].embedding) - expected[0]).max() < 1e-5
    finally:
        process.terminate()
        process.wait(timeout=30)
