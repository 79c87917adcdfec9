"""`gamepay sandbox` commands: serve the KryptoGO emulator, and trigger events on a running one.

``gamepay sandbox serve --port N`` (or ``gamepay sandbox --port N``) serves on 127.0.0.1 and
prints the credentials it accepts: ``GAMEPAY_SANDBOX_CLIENT_ID`` / ``GAMEPAY_SANDBOX_API_KEY``
from the environment, or the defaults. The other verbs call the control API of a running
sandbox (``--url``, default ``$GAMEPAY_SANDBOX_URL`` or ``http://127.0.0.1:8787``), like
``stripe trigger``::

    gamepay sandbox pay <intent_id> --exact | --short | --excess | --amount 1.5 [--late]
    gamepay sandbox expire <intent_id>
    gamepay sandbox refund <intent_id> [--amount 1.5]
    gamepay sandbox advance --seconds 900
    gamepay sandbox fund arb USDT 1000
    gamepay sandbox transfers | callbacks | intents | flush
    gamepay sandbox arm transfer --mode hang
    gamepay sandbox faults --drop-rate 0.2 --duplicate-rate 0.1 --seed 7
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
import uvicorn
from pydantic import ValidationError
from rich.console import Console

from gamepay.sandbox import DEFAULT_API_KEY, DEFAULT_CLIENT_ID, Faults, Sandbox, SandboxConfig
from gamepay.sandbox.app import create_app
from gamepay.sandbox.server import QuickStopServer

__all__ = ["DEFAULT_PORT", "app"]

DEFAULT_PORT = 8787
"""The port ``gamepay sandbox serve`` uses when none is given."""

app = typer.Typer(help="Run the local KryptoGO Studio sandbox, and make things happen in it.")
console = Console()

UrlOption = Annotated[
    str,
    typer.Option(
        "--url",
        envvar="GAMEPAY_SANDBOX_URL",
        help="Base URL of a running sandbox.",
    ),
]
DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"


def _serve(
    port: int,
    seed: int | None,
    callback_secret: str | None,
    frozen: bool,
    config_path: Path | None = None,
) -> None:
    client_id = os.environ.get("GAMEPAY_SANDBOX_CLIENT_ID") or DEFAULT_CLIENT_ID
    api_key = os.environ.get("GAMEPAY_SANDBOX_API_KEY") or DEFAULT_API_KEY
    settings: dict[str, Any] = {}
    if config_path is not None:
        try:
            settings = json.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise typer.BadParameter(f"cannot read {config_path}: {exc}") from None
        if not isinstance(settings, dict):
            raise typer.BadParameter(f"{config_path} must hold a JSON object")
    settings.update(client_id=client_id, api_key=api_key)
    if seed is not None:
        settings["seed"] = seed
    if frozen:
        settings["frozen_clock"] = True
    if callback_secret:
        settings["callback_secret"] = callback_secret
    try:
        config = SandboxConfig.model_validate(settings)
    except ValidationError as exc:
        raise typer.BadParameter(str(exc)) from None
    sandbox = Sandbox(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        sock.close()
        console.print(f"[red]cannot listen on 127.0.0.1:{port}: {exc.strerror}[/red]")
        raise typer.Exit(1) from None
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    typer.echo(f"gamepay sandbox listening on {url}")
    typer.echo(f"  X-Client-ID:      {client_id}")
    typer.echo(f"  X-STUDIO-API-KEY: {api_key}")
    typer.echo("  Origin:           any non-empty value")
    typer.echo(f"  seed:             {sandbox.seed}")
    typer.echo(f"  control API:      {url}/_sandbox/  (try: gamepay sandbox intents --url {url})")
    server = QuickStopServer(
        uvicorn.Config(
            create_app(sandbox),
            lifespan="on",
            timeout_graceful_shutdown=2,
            log_level="info",
        )
    )
    try:
        asyncio.run(server.serve(sockets=[sock]))
    finally:
        sock.close()


@app.callback(invoke_without_command=True)
def main(
    ctx: typer.Context,
    port: Annotated[int | None, typer.Option(help="Serve on this port (same as `serve`).")] = None,
) -> None:
    """Serve the sandbox when called with --port and no command; otherwise run the command."""
    if ctx.invoked_subcommand is not None:
        return
    if port is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    _serve(port, None, None, False)


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one).")] = (
        DEFAULT_PORT
    ),
    seed: Annotated[int | None, typer.Option(help="Seed for ids and hashes.")] = None,
    callback_secret: Annotated[
        str | None,
        typer.Option(envvar="GAMEPAY_SANDBOX_CALLBACK_SECRET", help="Sign callbacks with it."),
    ] = None,
    frozen_clock: Annotated[
        bool, typer.Option(help="Time moves only by `gamepay sandbox advance`.")
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option(help="A JSON SandboxConfig (chains, quotes, deadlines, retries...)."),
    ] = None,
) -> None:
    """Serve the KryptoGO sandbox on 127.0.0.1 until interrupted."""
    _serve(port, seed, callback_secret, frozen_clock, config)


def _call(url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """Call the control API; print the data, or the error and exit 1."""
    try:
        response = httpx.request(method, url.rstrip("/") + "/_sandbox" + path, json=body)
    except httpx.HTTPError as exc:
        console.print(f"[red]cannot reach the sandbox at {url}: {type(exc).__name__}[/red]")
        raise typer.Exit(1) from None  # a problem found, not a usage error (docs/operations.md)
    try:
        envelope = response.json()
    except ValueError:
        console.print(f"[red]HTTP {response.status_code}: not JSON[/red]")
        raise typer.Exit(1) from None
    if response.status_code >= 400 or envelope.get("code") != 0:
        console.print(f"[red]error {envelope.get('code')}: {envelope.get('message')}[/red]")
        raise typer.Exit(1)
    console.print_json(data=envelope["data"])
    return envelope["data"]


@app.command()
def pay(
    intent_id: str,
    url: UrlOption = DEFAULT_URL,
    exact: Annotated[bool, typer.Option("--exact", help="Pay what is due.")] = False,
    short: Annotated[bool, typer.Option("--short", help="Pay half of what is due.")] = False,
    excess: Annotated[bool, typer.Option("--excess", help="Pay 10% more than due.")] = False,
    amount: Annotated[str | None, typer.Option(help="Pay this decimal amount.")] = None,
    late: Annotated[bool, typer.Option("--late", help="Expire the intent first.")] = False,
    final: Annotated[
        bool, typer.Option(help="A short payment closes the intent (--no-final waits for more).")
    ] = True,
) -> None:
    """Send a payment to an intent's address."""
    chosen = [name for name, on in (("exact", exact), ("short", short), ("excess", excess)) if on]
    if len(chosen) + (amount is not None) > 1:
        raise typer.BadParameter("choose one of --exact, --short, --excess, --amount")
    body: dict[str, Any] = {"mode": chosen[0] if chosen else "exact", "late": late, "final": final}
    if amount is not None:
        body["amount"] = amount
    _call(url, "POST", f"/intents/{intent_id}/pay", body)


@app.command()
def expire(intent_id: str, url: UrlOption = DEFAULT_URL) -> None:
    """Close a pending intent now (expired, or insufficient if paid short)."""
    _call(url, "POST", f"/intents/{intent_id}/expire")


@app.command()
def refund(
    intent_id: str,
    url: UrlOption = DEFAULT_URL,
    amount: Annotated[str | None, typer.Option(help="Refund this much (default: all).")] = None,
) -> None:
    """Refund an insufficient payment."""
    _call(url, "POST", f"/intents/{intent_id}/refund", {"amount": amount})


@app.command()
def advance(
    seconds: Annotated[int, typer.Option(help="How far to move the sandbox clock.")],
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Move the sandbox clock forward and expire what is past its deadline."""
    _call(url, "POST", "/clock/advance", {"seconds": seconds})


@app.command()
def fund(
    chain_id: str,
    token: Annotated[str, typer.Argument(help="Symbol (USDT) or contract address.")],
    amount: Annotated[str, typer.Argument(help="Decimal amount of the token.")],
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Add tokens to the treasury that asset_pro transfers draw from."""
    _call(url, "POST", "/treasury/fund", {"chain_id": chain_id, "token": token, "amount": amount})


@app.command()
def transfers(url: UrlOption = DEFAULT_URL) -> None:
    """Show every transfer the sandbox executed (and the same as Studio export rows)."""
    _call(url, "GET", "/transfers")


@app.command()
def callbacks(url: UrlOption = DEFAULT_URL) -> None:
    """Show the callback delivery log."""
    _call(url, "GET", "/callbacks")


@app.command()
def flush(url: UrlOption = DEFAULT_URL) -> None:
    """Wait until every queued callback is delivered or given up."""
    _call(url, "POST", "/callbacks/flush", {"timeout": 60})


@app.command()
def intents(url: UrlOption = DEFAULT_URL) -> None:
    """Show every intent."""
    _call(url, "GET", "/intents")


@app.command()
def arm(
    operation: Annotated[str, typer.Argument(help="create or transfer")],
    url: UrlOption = DEFAULT_URL,
    mode: Annotated[str, typer.Option(help="hang (past the client timeout) or 504")] = "hang",
) -> None:
    """Make the next create or transfer succeed but lose its answer."""
    _call(url, "POST", "/faults/arm", {"operation": operation, "mode": mode})


@app.command()
def faults(
    url: UrlOption = DEFAULT_URL,
    seed: Annotated[int, typer.Option(help="Seed of the fault draws.")] = 0,
    drop_rate: Annotated[float, typer.Option(help="Callbacks never sent.")] = 0.0,
    duplicate_rate: Annotated[float, typer.Option(help="Callbacks sent twice.")] = 0.0,
    reorder: Annotated[float, typer.Option(help="Callbacks overtaken by the next one.")] = 0.0,
    api_error_rate: Annotated[float, typer.Option(help="API calls answered 5xx.")] = 0.0,
    latency: Annotated[float, typer.Option(help="Seconds before each API answer.")] = 0.0,
    timeout_after_commit_rate: Annotated[
        float, typer.Option(help="Creates/transfers that commit, then lose their answer.")
    ] = 0.0,
) -> None:
    """Replace the running sandbox's faults (no options: no faults)."""
    try:
        chosen = Faults(
            seed=seed,
            drop_rate=drop_rate,
            duplicate_rate=duplicate_rate,
            reorder=reorder,
            api_error_rate=api_error_rate,
            latency=latency,
            timeout_after_commit_rate=timeout_after_commit_rate,
        )
    except ValidationError as exc:
        raise typer.BadParameter(str(exc)) from None
    _call(url, "PUT", "/faults", chosen.model_dump(mode="json"))
