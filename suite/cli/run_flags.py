"""Which configuration field each `bench run` flag sets, and the flag's help taken from that
field's description: the configuration's models (suite.config) are the one source of what a
setting means, whether it is written in a config file or given as a flag.

The help is filled in when `bench run --help` is rendered (RunCommand), not when the CLI is
built, so that `bench --help` and every command's start import no configuration. A flag whose
field has no description yet says what it does in its own `help=`; tests/unit/test_cli_usage.py
holds each flag to one of the two, never both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from typer.core import TyperCommand, TyperOption

if TYPE_CHECKING:
    from pydantic import BaseModel
    from pydantic.fields import FieldInfo
    from typer._click import Context, HelpFormatter  # the click that typer vendors


@dataclass(frozen=True)
class FlagField:
    """The config field a flag sets (a dotted path: `energy.meter`; `models.weights` is a field of
    each model; `ort.opset` one of the ort backend's options), and how the flag spells it."""

    path: str
    usage: str = ""  # the flag's own syntax, said after the field's description
    sets_false: bool = False  # a --no-X flag: it sets the field to false


RUN_FLAGS: dict[str, FlagField] = {  # keyed by the parameter name of suite.cli.run_command.run
    "preset": FlagField("preset"),
    "model": FlagField("models.name"),
    "backends": FlagField("backends", "Comma-separated."),
    "batch_sizes": FlagField("batch_sizes"),
    "input_sizes": FlagField("input_sizes", "Pixels, tokens or seconds: 224,448 for every model, or image:224,448 / "
                                            "text:128 per modality (repeat)."),
    "threads": FlagField("threads"),
    "device": FlagField("device"),
    "pretrained": FlagField("models.pretrained"),
    "no_energy": FlagField("energy.enabled", sets_false=True),
    "meter": FlagField("energy.meter", "`bench env` lists what works here; default auto: the most direct one "
                                       "that works."),
    "region": FlagField("energy.region", "E.g. USA, FRA, DEU."),
    "vcgencmd": FlagField("energy.vcgencmd"),
    "out": FlagField("output_dir"),
    "case_timeout": FlagField("case_timeout_s"),
    "cooldown": FlagField("cooldown_temp_c", "At most cooldown_max_s."),
    "exporter": FlagField("ort.exporter"),
    "opset": FlagField("ort.opset"),
    "inline": FlagField("isolation"),
    "repeats": FlagField("repeats", "The CI comes from a hierarchical bootstrap; default: the preset's."),
    "no_interleave": FlagField("interleave", sets_false=True),
    "no_report": FlagField("report", sets_false=True),
    "no_peaks": FlagField("peaks", "Without them the roofline has no roofs.", sets_false=True),
    "dataset": FlagField("dataset.spec", "Real evaluation data for accuracy beside efficiency; user: the model "
                                         "file's load_dataset()."),
    "limit": FlagField("dataset.limit", "Evaluated instead of the whole dataset."),
    "resize": FlagField("resize", "Comma-separated: area, bilinear, nearest, center-crop (default area)."),
    "profile": FlagField("profile.enabled"),
    "profile_calls": FlagField("profile.calls", "With --profile (default 10)."),
    "weights": FlagField("models.weights", "For the one -m model."),
    "no_cold_start": FlagField("app.cold_start", sets_false=True),
    "rate": FlagField("app.rate_hz", "E.g. 30 or 30/s; the window is app.paced_window_s long."),
    "sustain": FlagField("app.sustain_s", "Windows of app.sustain_window_s (default 1 s)."),
    "temp_limit": FlagField("app.temp_limit_c", "With --sustain."),
    "budget": FlagField("budget_s", "E.g. 20m or 2h; the plan's estimate is printed before the run either way."),
}


def config_field(path: str) -> FieldInfo:
    """The pydantic field at `path` in the configuration (KeyError: there is none)."""
    from suite.backends import option_models
    from suite.config.bench_config import BenchConfig, ModelChoice

    head, _, rest = path.partition(".")
    sections: dict[str, type[BaseModel]] = {"models": ModelChoice, **option_models()}
    model: type[BaseModel] = BenchConfig
    if rest and head in sections:
        model = sections[head]
        head, _, rest = rest.partition(".")
    while rest:
        model = _submodel(model.model_fields[head])
        head, _, rest = rest.partition(".")
    return model.model_fields[head]


def _submodel(info: FieldInfo) -> type[BaseModel]:
    import typing

    from pydantic import BaseModel

    for t in (info.annotation, *typing.get_args(info.annotation)):
        if isinstance(t, type) and issubclass(t, BaseModel):
            return t
    raise KeyError(f"{info.annotation} has no fields")


def flag_help(flag: FlagField) -> str | None:
    """The flag's help from its field's description (None: the field has none)."""
    description = config_field(flag.path).description
    if not description:
        return None
    if flag.sets_false:
        text = f"Sets {flag.path} = false ({flag.path}: {description})"
    elif " | " in description:  # a list of values: as the field spells them
        text = description
    else:
        text = description[0].upper() + description[1:]
    return f"{text}{'' if text.endswith('.') else '.'} {flag.usage}".strip()


class RunCommand(TyperCommand):
    """`bench run`: its flags' help comes from the configuration's field descriptions (RUN_FLAGS),
    looked up when the help is shown."""

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        for param in self.params:
            flag = RUN_FLAGS.get(param.name or "")
            text = flag_help(flag) if flag is not None else None
            if text is not None and isinstance(param, TyperOption):
                param.help = text
        super().format_help(ctx, formatter)
