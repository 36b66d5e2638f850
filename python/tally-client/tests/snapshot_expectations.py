"""What tallyd's JSON snapshot (Sources/TallyCore/Snapshot+JSON.swift) must say about a
set of frames, computed independently from the frames as recorded (keyword dicts)."""
from collections import defaultdict

STATUS_NAMES = ["ok", "error", "timeout", "rate_limited", "cancelled", "other"]
RING_NAMES = ["stable", "canary", "shadow"]
SEVERITY_NAMES = ["none", "low", "medium", "high", "critical"]
KIND_NAMES = {0: "hate", 1: "harassment", 2: "self_harm", 3: "sexual", 4: "violence", 5: "illicit",
              6: "privacy", 7: "prompt_injection", 8: "ungrounded", 9: "copyright", 15: "other"}
TASK_NAMES = ["unknown", "success", "failure"]


def series_key(model, model_version, prompt_version, route, ring, tags):
    return (model, model_version or "", prompt_version or "", route or "", ring,
            tuple(sorted(tags.items())))


def key_of_json(series):
    return series_key(series["model"], series["model_version"], series["prompt_version"],
                      series["route"], series["ring"], series["tags"])


def key_of_frame(frame):
    return series_key(frame["model"], frame.get("model_version"), frame.get("prompt_version"),
                      frame.get("route"), RING_NAMES[frame.get("ring", 0)], dict(frame.get("tags") or {}))


def digest(values):
    if not values:
        return {"count": 0}
    return {"count": len(values), "min": min(values), "max": max(values), "sum": sum(values)}


def expected_series(frames):
    """Per series key, the fields the snapshot JSON must carry exactly. Frames use
    integer codes for enums (the tests generate them that way)."""
    groups = defaultdict(list)
    for frame in frames:
        groups[key_of_frame(frame)].append(frame)
    result = {}
    for key, group in groups.items():
        status = dict.fromkeys(STATUS_NAMES, 0)
        errors = defaultdict(int)
        task = dict.fromkeys(TASK_NAMES, 0)
        feedback = {"up": 0, "down": 0}
        by_severity = dict.fromkeys(SEVERITY_NAMES[1:], 0)
        by_kind = defaultdict(int)
        categories = defaultdict(int)
        for f in group:
            status[STATUS_NAMES[f.get("status", 0)]] += 1
            if f.get("error_class"):
                errors[f["error_class"]] += 1
            task[TASK_NAMES[f.get("task", 0)]] += 1
            if f.get("feedback", 0):
                feedback[["", "up", "down"][f["feedback"]]] += 1
            if f.get("safety_severity", 0):
                by_severity[SEVERITY_NAMES[f["safety_severity"]]] += 1
                for bit, name in KIND_NAMES.items():
                    if f["safety_kinds"] >> bit & 1:
                        by_kind[name] += 1
            if f.get("category_id") is not None:
                categories[str(f["category_id"])] += 1
        ttfts = [f["ttft_us"] for f in group if f.get("ttft_us") is not None]
        tpots = [(f["total_latency_us"] - f["ttft_us"]) / (f["output_tokens"] - 1)
                 for f in group if f.get("ttft_us") is not None and f.get("output_tokens", 0) >= 2]
        result[key] = {
            "requests": len(group),
            "status": status,
            "error_classes": dict(errors),
            "refusals": sum(1 for f in group if f.get("refusal")),
            "escalations": sum(1 for f in group if f.get("escalation")),
            "fallbacks": sum(1 for f in group if f.get("fallback")),
            "task": task,
            "feedback": feedback,
            "safety": {"incidents": sum(1 for f in group if f.get("safety_severity", 0)),
                       "by_severity": by_severity, "by_kind": dict(by_kind)},
            "latency_us": digest([f["total_latency_us"] for f in group]),
            "ttft_us": digest(ttfts),
            "queue_us": digest([f.get("queue_time_us", 0) for f in group]),
            "input_tokens": digest([f.get("input_tokens", 0) for f in group]),
            "output_tokens": digest([f.get("output_tokens", 0) for f in group]),
            "cached_input_tokens": sum(f.get("cached_input_tokens", 0) for f in group),
            "users": len({f["user_hash"] for f in group if f.get("user_hash")}),
            "sessions": len({f["session_hash"] for f in group if f.get("session_hash")}),
            "categories": dict(categories),
            "tpot_count": len(tpots),
            "tpot_sum": sum(tpots),
        }
    return result


def actual_series(series):
    """The same fields read from one series of the snapshot JSON."""
    def d(name):
        return {k: series[name][k] for k in ("count", "min", "max", "sum") if k in series[name]}
    return {
        "requests": series["requests"], "status": series["status"],
        "error_classes": series["error_classes"], "refusals": series["refusals"],
        "escalations": series["escalations"], "fallbacks": series["fallbacks"],
        "task": series["task"], "feedback": series["feedback"], "safety": series["safety"],
        "latency_us": d("latency_us"), "ttft_us": d("ttft_us"), "queue_us": d("queue_us"),
        "input_tokens": d("input_tokens"), "output_tokens": d("output_tokens"),
        "cached_input_tokens": series["cached_input_tokens"], "users": series["users"],
        "sessions": series["sessions"], "categories": series["categories"],
        "tpot_count": series["tpot_us"]["count"], "tpot_sum": series["tpot_us"].get("sum", 0),
    }
