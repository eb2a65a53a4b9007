from sagemaker_inference.recycling import WorkerRecycler, current_rss_bytes


def test_off_by_default():
    recycler = WorkerRecycler()
    assert not recycler.enabled
    assert not any(recycler.after(1) for _ in range(1000))


def test_max_requests_asks_once_when_reached():
    recycler = WorkerRecycler(max_requests=3)
    assert [recycler.after(1) for _ in range(5)] == [False, False, True, False, False]


def test_a_batch_counts_each_request():
    recycler = WorkerRecycler(max_requests=4)
    assert not recycler.after(3)
    assert recycler.after(3)


def test_rss_bound():
    sizes = iter([10, 20, 31, 40])
    recycler = WorkerRecycler(max_rss_bytes=30, rss=lambda: next(sizes))
    assert [recycler.after(1) for _ in range(3)] == [False, False, True]


def test_unreadable_rss_never_triggers():
    recycler = WorkerRecycler(max_rss_bytes=1, rss=lambda: None)
    assert not recycler.after(1)


def test_current_rss_is_positive_here():
    rss = current_rss_bytes()
    assert rss is None or rss > 1024 * 1024
