"""Server settings: defaults < engine profile YAML < environment < command line."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
DEFAULT_PROFILE = CONFIG_DIR / "cpu.yaml"
ENV_PREFIX = "SAMPLING_SERVER_"


class SamplingDefaults(BaseModel):
    """What a request gets for a parameter it leaves unset (OpenAI's defaults unless an engine
    profile says otherwise). The model's generation_config.json is never consulted."""

    temperature: float = Field(1.0, ge=0.0, le=2.0, description="Default temperature.")
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="Default nucleus cut-off.")
    top_k: int = Field(-1, ge=-1, description="Default top-k (-1 or 0: off).")
    min_p: float = Field(0.0, ge=0.0, le=1.0, description="Default min-p base.")
    repetition_penalty: float = Field(1.0, gt=0.0, description="Default repetition penalty.")


class Settings(BaseSettings):
    """OpenAI-compatible server over one vLLM engine. Every option can also be set in the
    environment as SAMPLING_SERVER_<NAME> (nested ones with '__') or in an engine profile
    YAML file (config/)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        cli_kebab_case=True,
        cli_implicit_flags=True,
        cli_prog_name="python -m server",
        extra="forbid",
    )

    config: Path | None = Field(
        DEFAULT_PROFILE,
        description="Engine profile YAML with any of these settings (the CPU default when unset).",
    )
    host: str = Field("127.0.0.1", description="Interface to listen on.")
    port: int = Field(8000, ge=0, le=65535, description="TCP port to listen on.")
    model: str | None = Field(
        None,
        description="A local Hugging Face folder or a hub id; unset: the embedded "
        "SmolLM2-135M-Instruct, prepared once in the cache directory.",
    )
    served_model_name: str | None = Field(
        None, description="The model id clients use (default: the model's folder or hub id)."
    )
    cache_dir: Path = Field(
        Path.home() / ".cache" / "sampling-server",
        description="Where the embedded model is converted to and kept, and the SQLite "
        "file of stored responses.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Log level of the server and uvicorn."
    )

    dtype: str = Field("auto", description="Weights and activations dtype passed to vLLM.")
    quantization: str | None = Field(None, description="vLLM quantization method, if any.")
    max_model_len: int | None = Field(
        None, ge=1, description="Context length (default: the model's own)."
    )
    gpu_memory_utilization: float = Field(
        0.9,
        gt=0.0,
        le=1.0,
        description="Share of GPU memory for vLLM (on the CPU backend: share of host RAM).",
    )
    enforce_eager: bool = Field(False, description="Skip torch.compile and CUDA graphs.")
    max_num_seqs: int | None = Field(None, ge=1, description="Most sequences batched at once.")
    logprobs_mode: Literal["raw", "processed"] = Field(
        "raw",
        description="What logprobs report when a request does not say (`logprobs_mode`): "
        "'raw', the model's own distribution before any sampling parameter (OpenAI's "
        "meaning); or 'processed', the distribution the token was drawn from, after every "
        "stage of the chain. The engine reports this mode itself; the other one costs more "
        "per request (docs/api/logprobs.md).",
    )
    tensor_parallel_size: int = Field(
        1, ge=1, description="GPUs on one host to shard each layer over (tensor parallelism)."
    )
    pipeline_parallel_size: int = Field(
        1,
        ge=1,
        description="Stages to split the layers into, across GPUs or hosts (GPU only: on "
        "the CPU engine vLLM 0.32 dies at the first request, so it is refused at start-up).",
    )
    data_parallel_size: int = Field(
        1,
        ge=1,
        description="Engine replicas behind this one API server, vLLM balancing requests "
        "between them (each with tensor_parallel_size x pipeline_parallel_size workers).",
    )
    distributed_executor_backend: Literal["mp", "ray"] | None = Field(
        None,
        description="vLLM's executor for several GPUs: 'mp' on one host, 'ray' across hosts "
        "(start the Ray cluster first); unset: vLLM chooses.",
    )
    engine_seed: int = Field(0, description="Engine-wide random seed.")
    cpu_reserved_cores: int | None = Field(
        None,
        ge=0,
        description="CPU backend: cores kept free of the engine's OpenMP threads "
        "(VLLM_CPU_NUM_OF_RESERVED_CPU; unset: vLLM's default of 1).",
    )
    cpu_preload: bool = Field(
        False,
        description="CPU backend: run the engine with tcmalloc and Intel's OpenMP runtime "
        "preloaded (LD_PRELOAD), as vLLM recommends; libraries not found are skipped.",
    )

    api_key: SecretStr | None = Field(
        None, description="When set, every /v1 route needs 'Authorization: Bearer <key>'."
    )
    api_keys: list[SecretStr] = Field(
        default_factory=list,
        description="More keys accepted beside api_key; a stored response is readable only "
        "with the key that created it.",
    )
    store: bool = Field(
        True,
        description="Keep responses (the Responses API's `store`, true by default as "
        "OpenAI's); --no-store keeps nothing and refuses `store: true`.",
    )
    store_url: str | None = Field(
        None,
        description="Where responses are kept: a postgresql:// URL for several replicas; "
        "unset: a SQLite file in the cache directory.",
    )
    store_max_age_days: float = Field(
        30.0, gt=0, description="Stored responses older than this are deleted."
    )
    store_max_count: int = Field(
        100_000, ge=1, description="Most responses kept; the oldest go first."
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed by CORS (none: CORS off)."
    )
    max_body_bytes: int = Field(4_000_000, ge=1, description="Largest request body (413).")
    max_prompt_tokens: int | None = Field(
        None, ge=1, description="Longest prompt accepted (default: the context length)."
    )
    max_tokens_limit: int | None = Field(
        None, ge=1, description="Largest max_tokens a request may ask for (default: none)."
    )
    max_concurrent_requests: int = Field(
        128,
        ge=1,
        description="Engine requests in flight (a request over p prompts with n choices counts "
        "p x n); beyond it: 429 with Retry-After.",
    )
    max_inspect_candidates: int = Field(
        32_000,
        ge=1,
        description="Candidates one inspection may list in all (steps x max_candidates); "
        "beyond: 400.",
    )
    inspect_prefills: int = Field(
        4, ge=1, description="Prefills one processed-mode inspection runs at once."
    )
    max_request_fanout: int = Field(
        128, ge=1, description="Engine requests one request may start (prompts x n); beyond: 400."
    )
    shutdown_timeout: float = Field(
        30.0, ge=0, description="On SIGTERM, seconds in-flight requests get to finish."
    )
    log_format: Literal["text", "json"] = Field("text", description="Log and access log format.")
    json_whitespace: bool = Field(
        False,
        description="Let structured output put any whitespace between JSON tokens (vLLM's "
        "default grammar). Off: compact JSON, which small models finish instead of indenting "
        "without end.",
    )

    sampling_defaults: SamplingDefaults = Field(
        default_factory=SamplingDefaults,
        description="Defaults for sampling parameters a request leaves unset.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)


def load_settings(argv: list[str] | None = None, **overrides: object) -> Settings:
    """Read the command line and the environment first to learn which engine profile to read, then
    again with the profile beneath them."""
    cli: list[str] | bool = argv if argv is not None else False
    first = Settings(_cli_parse_args=cli, **overrides)
    if first.config is None:
        return first
    profile = first.config
    if not profile.is_file():
        raise SystemExit(f"engine profile not found: {profile}")

    class ProfileSettings(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            yaml = YamlConfigSettingsSource(settings_cls, yaml_file=profile)
            return (init_settings, env_settings, yaml)

    return Settings.model_validate(ProfileSettings(_cli_parse_args=cli, **overrides).model_dump())
