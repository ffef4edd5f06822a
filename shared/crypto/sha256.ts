/** Hex SHA-256 through WebCrypto (`crypto.subtle`), native in Node 20 and every browser. */
export async function sha256Hex(data: Uint8Array | ArrayBuffer): Promise<string> {
  // Cast: TS's DOM lib rejects views over ArrayBufferLike; WebCrypto accepts any non-shared view.
  const digest = await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>);
  return toHex(new Uint8Array(digest));
}

function toHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += (bytes[i] as number).toString(16).padStart(2, '0');
  return out;
}
