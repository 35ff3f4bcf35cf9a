import type { z } from "zod";
import { EaselError } from "./errors.ts";

/** Renders one zod issue as `param: message`, naming the limit the value broke. */
export function describeIssue(issue: z.core.$ZodIssue): { param: string; message: string } {
  const param = issue.path.map(String).join(".") || "(body)";
  const got = "input" in issue && issue.input !== undefined ? `, got ${preview(issue.input)}` : "";
  switch (issue.code) {
    case "too_big": {
      const unit =
        issue.origin === "string" ? " characters" : issue.origin === "array" ? " items" : "";
      const op = issue.inclusive === false ? "<" : "<=";
      return { param, message: `${param} must be ${op} ${issue.maximum}${unit}${got}` };
    }
    case "too_small": {
      const unit =
        issue.origin === "string" ? " characters" : issue.origin === "array" ? " items" : "";
      const op = issue.inclusive === false ? ">" : ">=";
      return { param, message: `${param} must be ${op} ${issue.minimum}${unit}${got}` };
    }
    case "not_multiple_of":
      return { param, message: `${param} must be a multiple of ${issue.divisor}${got}` };
    case "invalid_type":
      return {
        param,
        message: `${param} must be ${article(issue.expected)}${issue.input === undefined ? " (missing)" : got}`,
      };
    case "invalid_value":
      return {
        param,
        message: `${param} must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}${got}`,
      };
    case "unrecognized_keys":
      return {
        param,
        message: `unknown field${issue.keys.length > 1 ? "s" : ""}: ${issue.keys.join(", ")}`,
      };
    default:
      // Our own messages are written to follow the field name ("must not be empty").
      return {
        param,
        message: issue.message.startsWith("must ")
          ? `${param} ${issue.message}`
          : `${param}: ${issue.message}`,
      };
  }
}

/** Parses `value` with `schema` or throws an `invalid_parameter` EaselError for the first issue. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const first = result.error.issues[0];
  if (!first) throw new EaselError("invalid_request", "request body is invalid");
  const { param, message } = describeIssue(first);
  return raise(param, message);
}

function raise(param: string, message: string): never {
  throw new EaselError("invalid_parameter", message, { param });
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function preview(value: unknown): string {
  // Never serialise a whole object or array: it can be megabytes, or nested deeper than the stack
  // (a body of 100,000 nested arrays made JSON.stringify throw RangeError, a 500).
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object" && value !== null) return "an object";
  const text = typeof value === "string" ? JSON.stringify(value.slice(0, 40)) : String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
