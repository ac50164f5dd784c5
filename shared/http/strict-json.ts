/**
 * JSON.parse keeps the last of two equal keys, so {"quantity":1,"quantity":5} means different
 * things to different parsers; the contract refuses it. Runs on text that JSON.parse accepted, so
 * it only tracks strings and object nesting. Keys are compared decoded ("a" and "\u0061" are one).
 * Returns the first repeated key, or undefined.
 */
export function firstDuplicateKey(text: string): string | undefined {
  // One entry per open container: a key set for an object, null for an array.
  const open: (Set<string> | null)[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '{') open.push(new Set());
    else if (ch === '[') open.push(null);
    else if (ch === '}' || ch === ']') open.pop();
    else if (ch === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const keys = open.at(-1);
      if (keys && isKeyPosition(text, end + 1)) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
      }
      i = end;
    }
  }
  return undefined;
}

/** A string is a key when the next non-blank character is a colon. */
function isKeyPosition(text: string, from: number): boolean {
  let i = from;
  while (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r') i++;
  return text[i] === ':';
}

/** `application/json`, any case, optionally with a UTF-8 charset (media types are case-insensitive). */
export function isJsonMediaType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  return /^\s*application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i.test(contentType);
}
