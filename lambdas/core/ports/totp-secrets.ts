/** A user's TOTP enrolment and the state that guards it against replay and guessing. */
export interface TotpState {
  userId: string;
  /** The base32 secret, encrypted by a SecretCipher (never stored in clear). */
  encryptedSecret: string;
  /** The last time step a code was accepted for: codes of that step or earlier are refused. */
  lastTimeStep?: number;
  /** Wrong codes since the last success or lockout. */
  failures: number;
  /** ISO time until which every code is refused, after too many failures. */
  lockedUntil?: string;
  enrolledAt: string;
}

/** Per-user TOTP state (DynamoDB app table, `USER#<userId>` / `TOTP`). */
export interface TotpSecrets {
  get(userId: string): Promise<TotpState | undefined>;
  /** Stores a new enrolment unless one exists; answers whether it did. */
  enrol(state: TotpState): Promise<boolean>;
  /**
   * Records an accepted code for `timeStep` only if no code of that step or a later one
   * was accepted meanwhile: of two concurrent uses of one code, exactly one wins.
   */
  acceptTimeStep(userId: string, timeStep: number): Promise<boolean>;
  /** Records a wrong code; locks the user out until `lockUntil` when `failures` reaches the limit. */
  recordFailure(userId: string, update: { failures: number; lockedUntil?: string }): Promise<void>;
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
