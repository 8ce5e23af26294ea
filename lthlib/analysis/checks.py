"""The checks of a chapter's parameters together: each ``check(book)`` returns a message or ``None``.

Each parameter is first checked alone (:data:`lthlib.analysis.parameters.CHECKS`); these then check the values
that combine, on the :class:`lthlib.analysis.chapter.Chapter` they make: the training length of the main network at
the scale against the rewinding iteration, the levels of the sweeps compared with the main one, the criteria the
actions need, the transfers, the joint sweeps against memory, and the convolutional runs against the dataset. A
message names the parameters, their values at this scale and the valid ones, as the config's validators do
(:mod:`lthlib.engine.config`); :func:`lthlib.analysis.chapter.open` raises the first one before any work.

Each chapter's entry in :mod:`lthlib.analysis.chapters` lists the checks it runs, in the order of :data:`ALL`; a
check reads only the parameters it names, and passes where the chapter has none of them (so a chapter opened
without a name runs them all), and it may assume that those before it passed.
"""

from __future__ import annotations

from ..engine import data, joint
from ..engine.config import SCALE_SETTINGS, ConfigError, ExperimentConfig, resolve
from . import zhou
from .parameters import CONV_FIELDS, MASK0_VARIANTS, MASK1_VARIANTS, ZHOU_CRITERIA, ParameterError, parse_names


def network_needs_images(book) -> str | None:
    """A convolutional main network (parameter ``network``) needs a dataset of images."""
    if book.main_network != "lenet" and not book.images:
        return (
            f"parameter network={book.main_network!r} is not valid for {book.dataset}: a convolutional network needs "
            f"images, and its examples are sequences; valid: lenet"
        )
    return None


def lenet_settings_fit(book) -> str | None:
    """The main network's runs (iterations, eval_every, levels and trials) resolve at this scale."""
    lenet = book.lenet_settings()
    try:
        resolve(
            ExperimentConfig(
                network=book.main_network, dataset=book.dataset, scale=book.scale, trials=book.trials, **lenet
            )
        )
    except ConfigError as error:
        if str(error).startswith("trials="):
            return f"parameter {error}"
        named = ", ".join(f"{name}={value!r}" for name, value in lenet.items())
        return f"the parameters {named} are not valid together at scale {book.scale}: {error}"
    return None


def rewind_within_training(book) -> str | None:
    """``rewind`` resets to an iteration before the end of the main network's training at this scale."""
    rewind = getattr(book.parameters, "rewind", None)
    if rewind is None:
        return None
    iterations = book.lenet_config().iterations
    if rewind >= iterations:
        return (
            f"parameter rewind={rewind} is not valid at scale {book.scale}: LeNet-300-100 trains for {iterations:,} "
            f"iterations there, and rewinding resets to an iteration before the end; "
            f"valid: an integer from 0 to {iterations - 1:,}"
        )
    return None


def _at_most_levels(book, name: str, compared_with: str) -> str | None:
    """Parameter ``name`` counts levels of a sweep compared with the main one: given, it is refused beyond the main
    sweep's ``levels`` (left at the scale's default, :func:`lthlib.analysis.chapter.open` shrinks it to them)."""
    value = getattr(book.parameters, name, None)
    if value is None or name not in book.given:
        return None
    levels = book.lenet_config().levels
    if value <= levels:
        return None
    return (
        f"parameter {name}={value} is not valid at scale {book.scale}: {compared_with} are pruned {levels} times "
        f"(levels); valid: an integer from 1 to {levels}"
    )


def extra_levels_within(book) -> str | None:
    """The one-shot and rewinding sweeps (``extra_levels``) go no deeper than the iterative one."""
    compared_with = "the iterative tickets the one-shot and rewinding ones are compared with"
    return _at_most_levels(book, "extra_levels", compared_with)


def actions_need_large_final(book) -> str | None:
    """The mask-1 and mask-0 actions are compared with large_final's tickets over at most its levels."""
    p = book.parameters
    if not (
        parse_names("mask1_actions", getattr(p, "mask1_actions", ""), MASK1_VARIANTS, True)
        or parse_names("mask0_actions", getattr(p, "mask0_actions", ""), MASK0_VARIANTS, True)
    ):
        return None
    if "large_final" not in parse_names("criteria", p.criteria, ZHOU_CRITERIA):
        return (
            f"parameter criteria={p.criteria!r} is not valid with mask-1 or mask-0 actions: they are compared with "
            f"the large_final tickets; valid: criteria that include large_final, or mask1_actions='' and "
            f"mask0_actions=''"
        )
    return _at_most_levels(book, "action_levels", "the large_final tickets they are compared with")


def criteria_include_random(book) -> str | None:
    """The deconstructing chapter (the one with ``criteria_conv``) judges every criterion against random pruning in
    the same trials, on each network it runs them on: each list it runs must include random."""
    p = book.parameters
    if not hasattr(p, "criteria_conv"):
        return None
    for name in ("criteria", "conv_criteria") if p.criteria_conv else ("criteria",):
        value = getattr(p, name, None)
        if value is not None and "random" not in parse_names(name, value, ZHOU_CRITERIA):
            return (
                f"parameter {name}={value!r} is not valid: each criterion is judged against random pruning in the "
                f"same trials; valid: a list that includes random, e.g. {value},random"
            )
    return None


def action_levels_within(book) -> str | None:
    """The review chapters' zeroing, fine-tuning and half-split sweeps (``action_levels``; the chapters without
    mask-1 actions, whose own check is :func:`actions_need_large_final`) go no deeper than the large_final
    tickets."""
    if hasattr(book.parameters, "mask1_actions"):
        return None
    return _at_most_levels(book, "action_levels", "the large_final tickets their sweeps are compared with")


def transfers_fit(book) -> str | None:
    """Masks move between datasets whose networks have the same shape (and the shift needs images)."""
    p = book.parameters
    pairs = []
    if hasattr(p, "transfer_source"):
        pairs.append(("transfer_source", p.transfer_source, "transfer_target", p.transfer_target))
    if getattr(p, "shift_target", "") and (book.images or "shift_target" in book.given):
        pairs.append(("dataset", book.dataset, "shift_target", p.shift_target))
    for source_name, source, target_name, target in pairs:
        try:
            resolve(ExperimentConfig(experiment="transfer", dataset=target, mask_from=source, scale=book.scale))
        except ConfigError as error:
            return (
                f"the parameters {source_name}={source!r} and {target_name}={target!r} are not valid together: {error}"
            )
    return None


def joint_sweeps_fit(book) -> str | None:
    """The Zhou et al. chapters' iterative sweeps (those with ``criteria``) train as one batched run per network: it
    must fit in memory."""
    if not hasattr(book.parameters, "criteria"):
        return None
    fields = [f for members in zhou.sweeps(book).values() for f in members.values() if f["experiment"] == "imp"]
    for network in dict.fromkeys(f["network"] for f in fields):
        try:
            joint.check_joint([book.config(**f) for f in fields if f["network"] == network])
        except ParameterError as error:
            return str(error)
        except joint.JointError as error:
            return (
                f"the parameters network={network!r}, trials={book.trials} and the chosen criteria and actions are "
                f"not valid together at scale {book.scale}: {error}"
            )
    return None


def conv_runs_fit(book) -> str | None:
    """Every convolutional run (``conv_runs``, else ``conv_network``, and ``criteria_conv``) resolves with the conv_*
    parameters and its own settings, and evaluates at least once, on this dataset at this scale."""
    p, scale = book.parameters, book.scale
    runs = [(run.network, book.conv_run_settings(run), run) for run in book.conv_runs]
    networks = [run.network for run in book.conv_runs]
    if not networks and book.images and getattr(p, "conv_network", None):
        networks = [p.conv_network]
    if book.images and getattr(p, "criteria_conv", ""):
        networks.append(p.criteria_conv)
    checked = {network for network, _, _ in runs}
    runs += [(network, book.conv_settings(), None) for network in dict.fromkeys(networks) if network not in checked]
    eval_every = getattr(p, "conv_eval_every", None) or SCALE_SETTINGS[scale]["eval_every"]
    for network, settings, run in runs:
        iterations = settings.get("iterations")
        if iterations is not None and iterations < eval_every:
            named = "conv_runs iterations" if run is not None and "iterations" in dict(run.own) else "conv_iterations"
            return (
                f"parameter {named}={iterations} is not valid at scale {scale}: the convolutional networks are "
                f"evaluated every {eval_every} iterations there (conv_eval_every); valid: an integer >= {eval_every}"
            )
        try:
            config = resolve(
                ExperimentConfig(
                    **{
                        "experiment": "imp",
                        "network": network,
                        "dataset": book.dataset,
                        "scale": scale,
                        "trials": book.trials,
                        **settings,
                    }
                )
            )
            data.check_sizes(
                book.dataset, val_size=config.val_size, train_subset=config.train_subset, test_subset=config.test_subset
            )
        except (ConfigError, ValueError) as error:
            own = [f"{s}={v}" for s, v in (run.own if run is not None else ()) if str(error).startswith(f"{s}=")]
            named = (
                f"parameter conv_runs item {network}:{run.dropout:g}:{own[0]}"
                if own
                else _conv_parameter_named(book, str(error))
            )
            return f"{named} is not valid for {book.dataset} at scale {scale}: {error}"
    return None


def _conv_parameter_named(book, message: str) -> str:
    """``parameter conv_val_size=70000`` when ``message`` is about ``val_size=...``, else the conv parameters."""
    for name, setting in CONV_FIELDS.items():
        if message.startswith(f"{setting}="):
            return f"parameter {name}={getattr(book.parameters, name, None)!r}"
    return f"the parameters {', '.join(name for name in CONV_FIELDS if hasattr(book.parameters, name))}"


# Every check, in the order a chapter runs those it lists.
ALL = (
    network_needs_images,
    lenet_settings_fit,
    rewind_within_training,
    extra_levels_within,
    actions_need_large_final,
    criteria_include_random,
    action_levels_within,
    transfers_fit,
    joint_sweeps_fit,
    conv_runs_fit,
)
