"""The configuration file: found, validated, and every bad file one clear error naming the
file and the zero-based key path (exit 2 at start-up: see tests/test_cli_config.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import Settings
from core.deployment.load import ENV_AGENT, ConfigFileError, config_path, load_deployment
from core.errors import ConfigError

GOOD = """
default_agent = "support"

[[agents]]
name = "support"
backend = "lyzr"
agent_id = "65f0a1"
api_key_env = "SUPPORT_LYZR_KEY"

[[agents]]
name = "eng"
backend = "openai"
base_url = "http://127.0.0.1:9/v1"
model = "coder"
system_prompt = "You write code."
first_token_timeout = 30

[[routes]]
platform = "slack"
workspace = "T0123"
channel = "C0456"
agent = "support"

[[routes]]
name = "discord-eng"
platform = "discord"
channel = 112233445566778899
agent = "eng"

[access]
users = { allow = [], deny = ["U666"] }
roles = { allow = [998877665544332211] }
dms = false
admins = ["U1"]
stop = "anyone"

[quotas]
user_turns_per_hour = 20
channel_turns_per_hour = 100
user_concurrent_replies = 2

[usage]
retention_days = 30
"""

ENV = {"SUPPORT_LYZR_KEY": "k-support"}


def write(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "threadcast.toml"
    path.write_text(text, encoding="utf-8")
    return Settings(agent="demo", config_file=path)


def error_of(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> str:
    settings = write(tmp_path, text)
    with pytest.raises(ConfigFileError) as caught:
        load_deployment(settings, ENV if environ is None else environ)
    return str(caught.value)


def test_a_complete_file_loads_with_ids_as_strings(tmp_path: Path) -> None:
    deployment = load_deployment(write(tmp_path, GOOD), ENV)
    config = deployment.config
    assert deployment.agent_names() == ("support", "eng")
    assert deployment.default_agent == "support"
    assert config.routes[1].channel == "112233445566778899"  # a bare TOML integer
    assert config.access.roles.allow == ("998877665544332211",)
    assert config.access.dms is False and config.access.stop == "anyone"
    assert config.quotas.user_concurrent_replies == 2
    assert config.usage.retention_days == 30
    assert deployment.source == tmp_path / "threadcast.toml"


def test_the_example_file_in_deploy_is_valid() -> None:
    example = Path(__file__).parents[2] / "deploy" / "threadcast.example.toml"
    environ = {"SUPPORT_LYZR_KEY": "x", "ENG_OPENAI_KEY": "y"}
    deployment = load_deployment(Settings(agent="demo", config_file=example), environ)
    assert len(deployment.agents) >= 2 and deployment.config.routes


def test_no_file_means_the_environment_agent_and_no_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings(agent="demo")
    assert config_path(settings) is None
    deployment = load_deployment(settings, {})
    assert deployment.agent_names() == (ENV_AGENT,)
    assert deployment.agents[0].backend == "demo"
    assert deployment.config.access.stop == "anyone"  # as before the file existed
    assert not deployment.config.routes


def test_threadcast_toml_in_the_working_directory_is_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "threadcast.toml").write_text('[[agents]]\nname = "d"\nbackend = "demo"\n')
    monkeypatch.chdir(tmp_path)
    deployment = load_deployment(Settings(agent="demo"), {})
    assert deployment.agent_names() == ("d",)
    assert deployment.config.access.stop == "asker"  # the file's default


def test_a_file_without_agents_routes_to_the_environment_agent(tmp_path: Path) -> None:
    text = '[[routes]]\nchannel = "C1"\nagent = "default"\n'
    deployment = load_deployment(write(tmp_path, text), {})
    assert deployment.agent_names() == (ENV_AGENT,)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # unknown key
        ('[[agents]]\nname = "a"\nbackend = "demo"\ncolour = "red"\n',
         "agents[0].colour: unknown key"),
        ("[quota]\nuser_turns_per_hour = 1\n", "quota: unknown key"),
        ('[access]\nusers = { allow = [], denny = ["U1"] }\n', "access.users.denny: unknown key"),
        # a secret in the file
        ('[[agents]]\nname = "a"\nbackend = "lyzr"\nagent_id = "x"\napi_key = "sk"\n',
         "agents[0].api_key: unknown key; secrets never live in this file"),
        # wrong type
        ('[quotas]\nuser_turns_per_hour = "ten"\n',
         "quotas.user_turns_per_hour: input should be a valid integer"),
        ("[quotas]\nchannel_turns_per_hour = -1\n", "quotas.channel_turns_per_hour: input should"),
        ('[access]\ndms = "sometimes"\n', "access.dms: input should be a valid boolean"),
        ('[access]\nstop = "everyone"\n', "access.stop: input should be 'asker' or 'anyone'"),
        ('[[agents]]\nname = "a"\nbackend = "gpt"\n', "agents[0].backend: input should be"),
        ('[[agents]]\nname = "a b"\nbackend = "demo"\n', "agents[0].name: string should match"),
        ('routes = "none"\n', "routes: input should be a valid tuple"),
        # missing key
        ('[[agents]]\nbackend = "demo"\n', "agents[0].name: required key missing"),
        ('[[agents]]\nname = "a"\nbackend = "lyzr"\napi_key_env = "SUPPORT_LYZR_KEY"\n',
         "agents[0].agent_id: required for backend 'lyzr'"),
        # unknown agent
        ('[[agents]]\nname = "support"\nbackend = "demo"\n'
         '[[routes]]\nagent = "support"\n[[routes]]\nagent = "support"\n'
         '[[routes]]\nchannel = "C1"\nagent = "suport"\n',
         "routes[2].agent: unknown agent 'suport' (agents: support)"),
        ('default_agent = "nobody"\n[[agents]]\nname = "a"\nbackend = "demo"\n',
         "default_agent: unknown agent 'nobody'"),
        # keys that belong to another backend, names used twice
        ('[[agents]]\nname = "a"\nbackend = "demo"\nmodel = "m"\n',
         "agents[0].model: only for backend 'openai'"),
        ('[[agents]]\nname = "a"\nbackend = "demo"\n[[agents]]\nname = "a"\nbackend = "demo"\n',
         "agents[1].name: 'a' already names agents[0]"),
        # not TOML at all
        ("[[agents]\n", "not valid TOML"),
    ],
)  # fmt: skip
def test_each_bad_file_is_one_clear_error(tmp_path: Path, text: str, expected: str) -> None:
    message = error_of(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'threadcast.toml'}: ")
    assert expected in message, message
    assert "\n" not in message


def test_a_missing_key_variable_is_named_and_its_value_never_shown(tmp_path: Path) -> None:
    text = (
        '[[agents]]\nname = "support"\nbackend = "lyzr"\nagent_id = "a1"\n'
        'api_key_env = "SUPPORT_LYZR_KEY"\n'
    )
    message = error_of(tmp_path, text, environ={})
    assert message.endswith(
        "agents[0].api_key_env: the environment variable SUPPORT_LYZR_KEY is not set"
    )
    # A Lyzr agent without api_key_env needs LYZR_API_KEY.
    bare = '[[agents]]\nname = "support"\nbackend = "lyzr"\nagent_id = "a1"\n'
    assert "agents[0].api_key_env: not given, and LYZR_API_KEY is not set" in error_of(
        tmp_path, bare, environ={}
    )
    # An OpenAI-compatible server may need no key.
    settings = write(tmp_path, '[[agents]]\nname = "local"\nbackend = "openai"\n')
    assert load_deployment(settings, {}).agent_names() == ("local",)


def test_threadcast_config_naming_a_missing_file_is_an_error(tmp_path: Path) -> None:
    settings = Settings(agent="demo", config_file=tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match=r"nope\.toml: no such file"):
        load_deployment(settings, {})
