import hashlib

import pytest

from ocrflow.eval.split import in_split, part_of, select


def test_part_follows_the_written_rule() -> None:
    for i in range(300):
        path = f"dir{i % 7}/doc_{i:04d}.pdf"
        bucket = int(hashlib.sha256(path.encode()).hexdigest()[:8], 16) % 100
        assert part_of(path) == ("check" if bucket < 40 else "fit")


def test_pinned_paths_never_move() -> None:
    # the split is part of the project's method: a change here would re-fit on checked documents
    assert part_of("sroie/img/000.jpg") == "check"
    assert part_of("sroie/img/002.jpg") == "fit"


def test_about_forty_percent_are_checked() -> None:
    parts = [part_of(f"s/{i}.jpg") for i in range(2000)]
    assert 0.36 < parts.count("check") / len(parts) < 0.44


def test_select_keeps_order_and_all_keeps_everything() -> None:
    recs = [{"path": f"a/{i}.pdf", "fields": {}} for i in range(50)]
    fit, check = select(recs, "fit"), select(recs, "check")
    assert len(fit) + len(check) == 50 and not {id(r) for r in fit} & {id(r) for r in check}
    assert fit == [r for r in recs if r in fit]
    assert select(recs, "all") == recs
    assert in_split(recs[0], "all")


def test_path_is_taken_as_written() -> None:
    # './a' and 'a' are different keys: the gold file's own spelling decides
    seen = {part_of(f"./x/{i}.pdf") == part_of(f"x/{i}.pdf") for i in range(100)}
    assert seen == {True, False}


def test_unknown_split_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown split 'train'"):
        in_split({"path": "a"}, "train")
