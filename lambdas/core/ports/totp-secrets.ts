/** A user's TOTP enrolment and the state that guards it against replay and guessing. */
export interface TotpState {
  userId: string;
  /** The base32 secret, encrypted by a SecretCipher (never stored in clear). */
  encryptedSecret: string;
  /** The last time step a code was accepted for: codes of that step or earlier are refused. */
  lastTimeStep?: number;
  /** Codes claimed for checking in the current attempt window (see `claimAttempt`). */
  attempts?: number;
  /** ISO time the current attempt window ends; until then at most the limit of codes is checked. */
  attemptsResetAt?: string;
  enrolledAt: string;
  /**
   * Present until the user confirms the enrolment from the one-time link emailed to
   * them: the SHA-256 of the link's token and when it lapses. Restores are refused
   * while it is present. (Enrolments made before confirmation existed have neither
   * this nor `confirmedAt`: they count as confirmed.)
   */
  pendingConfirmation?: { tokenHash: string; expiresAt: string };
  confirmedAt?: string;
  /**
   * A reset of a confirmed enrolment: the new secret waits here, with its emailed
   * link, while the confirmed `encryptedSecret` stays the one codes are checked
   * against. Confirming it replaces that secret; until then nothing changes.
   */
  pendingReplacement?: PendingReplacement;
}

/** A new secret (encrypted like the confirmed one) waiting for its emailed link. */
export interface PendingReplacement {
  encryptedSecret: string;
  tokenHash: string;
  expiresAt: string;
  requestedAt: string;
}

/** The outcome of `claimAttempt`: the attempt's number in its window, or when claims open again. */
export type AttemptClaim = { claimed: true; attempt: number; windowEndsAt: string } | { claimed: false; retryAfter: string };

/** Per-user TOTP state (DynamoDB app table, `USER#<userId>` / `TOTP`). */
export interface TotpSecrets {
  get(userId: string): Promise<TotpState | undefined>;
  /**
   * Stores a new enrolment unless a confirmed one exists (a pending one is replaced,
   * and with it its confirmation link); answers whether it did.
   */
  enrol(state: TotpState): Promise<boolean>;
  /**
   * Claims the right to check one code, atomically: refused once `maxAttempts` were
   * claimed in the current window, until it ends. A window opens with the first claim
   * after the previous one ended and lasts `windowMs`. However many requests arrive at
   * once, at most `maxAttempts` codes are checked per window; nothing but a success
   * (`acceptTimeStep`, `confirm`) ends a window early.
   */
  claimAttempt(userId: string, options: { now: Date; windowMs: number; maxAttempts: number }): Promise<AttemptClaim>;
  /**
   * Records an accepted code for `timeStep` only if no code of that step or a later one
   * was accepted meanwhile, and the enrolment is confirmed: of two concurrent uses of
   * one code, exactly one wins. Ends the attempt window.
   */
  acceptTimeStep(userId: string, timeStep: number): Promise<boolean>;
  /**
   * Confirms a pending enrolment with its link's token and a code of `timeStep`, in one
   * conditional write: only while that token is the pending one (so a link works once,
   * and a newer enrolment voids older links) and the step is newer than any accepted.
   */
  confirm(userId: string, confirmation: { tokenHash: string; timeStep: number; confirmedAt: string }): Promise<boolean>;
  /**
   * Puts a replacement next to a confirmed enrolment (replacing an earlier pending
   * one, and voiding its link); answers false when there is no confirmed enrolment.
   */
  requestReplacement(userId: string, replacement: PendingReplacement): Promise<boolean>;
  /**
   * Makes the pending replacement the enrolment, in one conditional write: only while
   * that token is the pending replacement's. Its secret's codes start a new replay
   * history at `timeStep`, and the attempt window ends.
   */
  confirmReplacement(userId: string, confirmation: { tokenHash: string; timeStep: number; confirmedAt: string }): Promise<boolean>;
}

/**
 * Encrypts small secrets at rest: KMS in AWS, AES-256-GCM with a key in DATA_DIR in
 * the local runtime. The ciphertext is an opaque string.
 */
export interface SecretCipher {
  encrypt(plaintext: string, context: Record<string, string>): Promise<string>;
  /** Fails if the ciphertext or its context was tampered with. */
  decrypt(ciphertext: string, context: Record<string, string>): Promise<string>;
}
