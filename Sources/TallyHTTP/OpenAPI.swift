/// The OpenAPI 3.0 description of the web face (`GET /api/v1/openapi.json`).
/// TallyHTTPTests fetch every path listed here and compare each JSON response's
/// top-level keys with its schema's properties: keep it in sync with API.swift.
enum OpenAPI {
    static let document = #"""
    {
      "openapi": "3.0.3",
      "info": {
        "title": "tallyd web face",
        "version": "1.0.0",
        "description": "Read-only API of the Tally collector: index documents (lights, alerts, drift, fairness, canary verdicts), scopes, alerts, metrics and health. Every path but /healthz requires 'Authorization: Bearer <http_token>' when http_token is set."
      },
      "paths": {
        "/healthz": {
          "get": {
            "summary": "Liveness: 200 while the process serves HTTP.",
            "security": [],
            "responses": { "200": { "description": "ok", "content": { "text/plain": { "schema": { "type": "string" } } } } }
          }
        },
        "/readyz": {
          "get": {
            "summary": "Readiness: 200 once a window has been evaluated, else 503 with the reason.",
            "responses": {
              "200": { "description": "ready", "content": { "text/plain": { "schema": { "type": "string" } } } },
              "503": { "description": "not ready", "content": { "text/plain": { "schema": { "type": "string" } } } }
            }
          }
        },
        "/metrics": {
          "get": {
            "summary": "Prometheus text format 0.0.4; OpenMetrics 1.0 when Accept asks for application/openmetrics-text.",
            "responses": {
              "200": {
                "description": "metric families",
                "content": {
                  "text/plain": { "schema": { "type": "string" } },
                  "application/openmetrics-text": { "schema": { "type": "string" } }
                }
              }
            }
          }
        },
        "/metrics/vllm": {
          "get": {
            "summary": "vLLM's request families (vllm:e2e_request_latency_seconds, vllm:time_to_first_token_seconds, vllm:request_queue_time_seconds, vllm:time_per_output_token_seconds, vllm:request_prompt_tokens, vllm:request_generation_tokens, vllm:request_success_total) by model_name with vLLM's bucket bounds; 404 unless http_vllm_metrics = true.",
            "responses": {
              "200": {
                "description": "metric families",
                "content": {
                  "text/plain": { "schema": { "type": "string" } },
                  "application/openmetrics-text": { "schema": { "type": "string" } }
                }
              },
              "404": { "description": "not enabled", "content": { "text/plain": { "schema": { "type": "string" } } } }
            }
          }
        },
        "/api/v1/index": {
          "get": {
            "summary": "The newest index document of a span.",
            "parameters": [
              { "name": "span", "in": "query", "required": false, "schema": { "type": "string", "default": "window" },
                "description": "window, or a rolling span of the policy (5m, 1h, 24h by default)" }
            ],
            "responses": {
              "200": { "description": "the document", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/IndexDocument" } } } },
              "400": { "description": "unknown span", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
              "503": { "description": "no window evaluated yet", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
            }
          }
        },
        "/api/v1/index/windows": {
          "get": {
            "summary": "The newest `limit` window documents held in memory that overlap [from, to).",
            "parameters": [
              { "name": "limit", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 1, "maximum": 100000, "default": 60 } },
              { "$ref": "#/components/parameters/From" },
              { "$ref": "#/components/parameters/To" }
            ],
            "responses": {
              "200": { "description": "held windows in the range", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Windows" } } } },
              "400": { "description": "a bad parameter, named", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
              "404": { "description": "no held window in the range; the held range", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NotHeld" } } } }
            }
          }
        },
        "/api/v1/snapshots": {
          "get": {
            "summary": "Whole snapshots, the newest `limit` overlapping [from, to): the newest window from memory, older ones read from the data directory. Each object is one line of the JSON-lines sink (Sources/TallyCore/snapshot-line.schema.json).",
            "parameters": [
              { "name": "limit", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 1, "maximum": 100, "default": 10 } },
              { "$ref": "#/components/parameters/From" },
              { "$ref": "#/components/parameters/To" }
            ],
            "responses": {
              "200": { "description": "stored windows in the range, oldest first", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Snapshots" } } } },
              "400": { "description": "a bad parameter, named", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
              "404": { "description": "no stored window in the range; the held range (memory and data directory)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NotHeld" } } } },
              "503": { "description": "no window sealed or stored yet", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
            }
          }
        },
        "/api/v1/fleet/index/windows": {
          "get": {
            "summary": "The index of the whole fleet: every collector's windows starting in [from, to) read from PostgreSQL (http_fleet_index = true), merged per window start and evaluated in order by a fresh engine (alerts, spans and drift see only these windows); the newest `limit` window documents.",
            "parameters": [
              { "name": "limit", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 1, "maximum": 10000, "default": 60 } },
              { "name": "from", "in": "query", "required": false, "schema": { "type": "integer", "format": "int64" }, "description": "µs since the epoch; default: to − 1 hour" },
              { "name": "to", "in": "query", "required": false, "schema": { "type": "integer", "format": "int64" }, "description": "µs since the epoch; default: now" }
            ],
            "responses": {
              "200": { "description": "fleet window documents, oldest first", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/FleetWindows" } } } },
              "400": { "description": "a bad parameter, named", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
              "404": { "description": "not enabled (http_fleet_index or index off), or no window stored in the range", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
              "502": { "description": "the store cannot be read, or refuses the range (more than 500,000 rows: narrow it)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
              "503": { "description": "another fleet read is running (Retry-After: 1)", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
            }
          }
        },
        "/api/v1/alerts": {
          "get": {
            "summary": "Open alerts after the newest window and recent transitions.",
            "responses": {
              "200": { "description": "alerts", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Alerts" } } } }
            }
          }
        },
        "/api/v1/scopes": {
          "get": {
            "summary": "The breakdown by scope, filtered and paged.",
            "parameters": [
              { "name": "kind", "in": "query", "required": false,
                "schema": { "type": "string", "enum": ["fleet", "model", "model_version", "prompt_version", "route", "ring", "model_ring", "cohort"] } },
              { "name": "light", "in": "query", "required": false,
                "schema": { "type": "string", "enum": ["none", "green", "insufficient_data", "yellow", "red"] } },
              { "name": "limit", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 50 } },
              { "name": "offset", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 0, "default": 0 } },
              { "name": "span", "in": "query", "required": false, "schema": { "type": "string", "default": "window" } }
            ],
            "responses": {
              "200": { "description": "a page of scopes", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Scopes" } } } },
              "400": { "description": "a bad parameter, named", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
            }
          }
        },
        "/api/v1/series": {
          "get": {
            "summary": "The newest window's series (the snapshot the index judged last), filtered by label and paged: counters, latency and TTFT quantiles (s), tokens, cost (USD), distinct users (HyperLogLog estimate).",
            "parameters": [
              { "name": "model", "in": "query", "required": false, "schema": { "type": "string" } },
              { "name": "model_version", "in": "query", "required": false, "schema": { "type": "string" } },
              { "name": "prompt_version", "in": "query", "required": false, "schema": { "type": "string" } },
              { "name": "route", "in": "query", "required": false, "schema": { "type": "string" } },
              { "name": "ring", "in": "query", "required": false, "schema": { "type": "string", "enum": ["stable", "canary", "shadow"] } },
              { "name": "tag", "in": "query", "required": false, "schema": { "type": "string" }, "description": "KEY=VALUE: series carrying that cohort tag" },
              { "name": "limit", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 50 } },
              { "name": "offset", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 0, "default": 0 } }
            ],
            "responses": {
              "200": { "description": "a page of series", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/SeriesPage" } } } },
              "400": { "description": "a bad parameter, named", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
              "503": { "description": "no window yet", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
            }
          }
        },
        "/api/v1/openapi.json": {
          "get": {
            "summary": "This document.",
            "responses": {
              "200": { "description": "OpenAPI 3.0", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/OpenAPI" } } } }
            }
          }
        }
      },
      "components": {
        "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
        "parameters": {
          "From": { "name": "from", "in": "query", "required": false, "schema": { "type": "integer", "format": "int64" }, "description": "start of the range, µs since the epoch (inclusive)" },
          "To": { "name": "to", "in": "query", "required": false, "schema": { "type": "integer", "format": "int64" }, "description": "end of the range, µs since the epoch (exclusive)" }
        },
        "schemas": {
          "Error": {
            "type": "object", "required": ["error"],
            "properties": { "error": { "type": "string" }, "parameter": { "type": "string", "description": "the bad parameter" } }
          },
          "Held": {
            "type": "object", "required": ["windows"],
            "properties": {
              "from_us": { "type": "integer", "format": "int64" },
              "to_us": { "type": "integer", "format": "int64" },
              "windows": { "type": "integer" }
            }
          },
          "NotHeld": {
            "type": "object", "required": ["error", "held"],
            "properties": { "error": { "type": "string" }, "held": { "$ref": "#/components/schemas/Held" } }
          },
          "IndexDocument": {
            "type": "object", "description": "Sources/TallyIndex/INDEX.md specifies every field.",
            "required": ["format", "collector", "span", "start_us", "end_us", "windows", "executive", "scopes", "alerts", "drift", "fairness", "canary"],
            "properties": {
              "format": { "type": "integer" },
              "collector": { "type": "string" },
              "span": { "type": "string" },
              "start_us": { "type": "integer", "format": "int64" },
              "end_us": { "type": "integer", "format": "int64" },
              "windows": { "type": "integer" },
              "executive": { "type": "object" },
              "scopes": { "type": "array", "items": { "$ref": "#/components/schemas/ScopeReport" } },
              "alerts": { "type": "object", "properties": { "open": { "type": "array", "items": { "type": "object" } }, "events": { "type": "array", "items": { "type": "object" } } } },
              "drift": { "type": "array", "items": { "type": "object" } },
              "fairness": { "type": "array", "items": { "type": "object" } },
              "canary": { "type": "array", "items": { "type": "object" } },
              "budget": { "type": "object", "description": "optional: the heaviest tenants and users (INDEX.md, Budget)" }
            }
          },
          "ScopeReport": {
            "type": "object", "required": ["scope", "kind", "labels", "requests", "light", "kpis"],
            "properties": {
              "scope": { "type": "string" },
              "kind": { "type": "string" },
              "labels": { "type": "object", "additionalProperties": { "type": "string" } },
              "requests": { "type": "integer" },
              "light": { "type": "string" },
              "kpis": { "type": "array", "items": { "type": "object" } }
            }
          },
          "Windows": {
            "type": "object", "required": ["held", "windows"],
            "properties": {
              "held": { "$ref": "#/components/schemas/Held" },
              "windows": { "type": "array", "items": { "$ref": "#/components/schemas/IndexDocument" } }
            }
          },
          "FleetWindows": {
            "type": "object", "required": ["source", "from_us", "to_us", "collectors", "snapshots", "held", "skipped", "problems", "windows"],
            "properties": {
              "source": { "type": "string", "description": "postgresql" },
              "from_us": { "type": "integer", "format": "int64", "description": "the range read, µs since the epoch" },
              "to_us": { "type": "integer", "format": "int64" },
              "collectors": { "type": "array", "items": { "type": "string" }, "description": "collector ids whose rows were read, sorted" },
              "snapshots": { "type": "integer", "description": "stored snapshots read (one per collector and sequence)" },
              "held": { "$ref": "#/components/schemas/Held" },
              "skipped": { "type": "integer", "description": "rows that could not be read, windows that could not be merged or evaluated" },
              "problems": { "type": "array", "items": { "type": "string" }, "description": "the first 20 reasons for skipping" },
              "windows": { "type": "array", "items": { "$ref": "#/components/schemas/IndexDocument" }, "description": "span window; start_us, end_us and scopes are the fleet's" }
            }
          },
          "Snapshots": {
            "type": "object", "required": ["held", "snapshots"],
            "properties": {
              "held": { "$ref": "#/components/schemas/Held" },
              "snapshots": { "type": "array", "items": { "type": "object", "description": "a snapshot line: Sources/TallyCore/snapshot-line.schema.json" } }
            }
          },
          "Alerts": {
            "type": "object", "required": ["open", "firing", "recent"],
            "properties": {
              "open": { "type": "array", "items": { "type": "object" } },
              "firing": { "type": "integer" },
              "recent": { "type": "array", "items": { "type": "object" }, "description": "transitions in the held windows, newest first (≤ 200)" }
            }
          },
          "Scopes": {
            "type": "object", "required": ["span", "total", "offset", "limit", "scopes"],
            "properties": {
              "span": { "type": "string" },
              "total": { "type": "integer" },
              "offset": { "type": "integer" },
              "limit": { "type": "integer" },
              "scopes": { "type": "array", "items": { "$ref": "#/components/schemas/ScopeReport" } }
            }
          },
          "SeriesPage": {
            "type": "object", "required": ["collector", "window_start_us", "window_end_us", "total", "offset", "limit", "series"],
            "properties": {
              "collector": { "type": "string" },
              "window_start_us": { "type": "integer" },
              "window_end_us": { "type": "integer" },
              "total": { "type": "integer" },
              "offset": { "type": "integer" },
              "limit": { "type": "integer" },
              "series": { "type": "array", "items": { "$ref": "#/components/schemas/SeriesRow" } }
            }
          },
          "SeriesRow": {
            "type": "object",
            "required": ["labels", "requests", "statuses", "refusals", "latency_seconds", "ttft_seconds", "input_tokens", "output_tokens", "cost_usd", "users"],
            "properties": {
              "labels": { "type": "object", "additionalProperties": { "type": "string" }, "description": "model, model_version, prompt_version, route, ring, and tag.KEY per cohort tag" },
              "requests": { "type": "integer" },
              "statuses": { "type": "object", "additionalProperties": { "type": "integer" }, "description": "requests by status: ok, error, timeout, rate_limited, cancelled, other" },
              "refusals": { "type": "integer" },
              "latency_seconds": { "type": "object", "properties": { "p50": { "type": "number" }, "p95": { "type": "number" }, "p99": { "type": "number" } } },
              "ttft_seconds": { "type": "object", "properties": { "p50": { "type": "number" }, "p95": { "type": "number" }, "p99": { "type": "number" } } },
              "input_tokens": { "type": "number" },
              "output_tokens": { "type": "number" },
              "cost_usd": { "type": "number" },
              "users": { "type": "number" }
            }
          },
          "OpenAPI": {
            "type": "object", "required": ["openapi", "info", "paths"],
            "properties": { "openapi": { "type": "string" }, "info": { "type": "object" }, "paths": { "type": "object" }, "components": { "type": "object" },
                            "security": { "type": "array", "items": { "type": "object" } } }
          }
        }
      },
      "security": [ { "bearer": [] } ]
    }
    """#
}
