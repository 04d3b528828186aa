"""Generation-time filters: what a draft must pass before the sandbox spends time on it.

    f = DraftFilter(cfg, extra=my_callable)        # my_callable(draft) -> reason or None
    reason = f.check(draft, seen_ids, seen_norm_hashes)  # None, or e.g. "near_duplicate"

In order: length limits, the config's banned constructs (the same static checks that
validation applies), the content filter (regexes from `curriculum.content_filters`,
then an optional callable a deployment provides), exact duplicates (same task id),
near-duplicates (same normalized AST: identifiers, docstrings and the function name do
not count), copies of a program trained on outside the curriculum (`trained_copy`: the
warm start's fresh tasks), and, for the policy's drafts, programs shaped like a
heldout-unseen task (the same AST but for its constants): the synthesizer never trains on
those operation combinations, and neither does self-play. Every rejection has a reason;
callers count them per reason in the store.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container

from zeroplay.config import Config
from zeroplay.curricula.programs import normalized_hash, shape_hash
from zeroplay.curricula.task import TaskDraft
from zeroplay.sandbox.drafts import DraftRejected, check_source

ContentHook = Callable[[TaskDraft], str | None]


class DraftFilter:
    """Cheap host-side checks, in order; `check` returns the first failing reason."""

    def __init__(self, cfg: Config, extra: ContentHook | None = None):
        self.cfg = cfg
        self.patterns = [re.compile(p) for p in cfg.curriculum.content_filters]
        self.extra = extra

    def check(self, draft: TaskDraft, seen_ids: Container[str],
              seen_norm_hashes: Container[str], heldout_shapes: Container[str] = (),
              trained_norm_hashes: Container[str] = ()) -> str | None:
        cur = self.cfg.curriculum
        if len(draft.statement) > cur.max_statement_chars:
            return "statement_too_long"
        if len(draft.reference) > cur.max_reference_chars:
            return "reference_too_long"
        try:
            check_source(draft.entry_point, draft.reference, self.cfg.sandbox)
        except DraftRejected as rejected:
            return rejected.validation.reason
        text = "\n".join((draft.statement, draft.signature, draft.reference, draft.strategy))
        if any(p.search(text) for p in self.patterns):
            return "content_filter"
        if self.extra is not None and self.extra(draft):
            return "content_hook"
        if draft.id in seen_ids:
            return "duplicate"
        if normalized_hash(draft.reference) in seen_norm_hashes:
            return "near_duplicate"
        if normalized_hash(draft.reference) in trained_norm_hashes:
            return "trained_copy"
        if draft.provenance.origin == "policy" and shape_hash(draft.reference) in heldout_shapes:
            return "heldout_shape"
        return None
