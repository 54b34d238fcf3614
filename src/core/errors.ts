/** Base of every error Pulse raises on purpose; the message says what to do. */
export class PulseError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PulseError';
  }
}

/** Input (a file, a payload, a flag) is wrong; the message names where. */
export class InputError extends PulseError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'InputError';
  }
}

/** A series' time zone or country is not one Pulse can compute with; the message names the series. */
export class CalendarError extends InputError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CalendarError';
  }
}

export class ConfigurationError extends PulseError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigurationError';
  }
}

export class DatabaseError extends PulseError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DatabaseError';
  }
}

/** A model file is missing, corrupt or does not match its metadata. */
export class ModelError extends PulseError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ModelError';
  }
}

export class SourceError extends PulseError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SourceError';
  }
}

export class NotFoundError extends PulseError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NotFoundError';
  }
}

/** The store refused rows for what they hold (a check constraint, a value out of range), not for being down. */
export class RowsRejectedError extends PulseError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RowsRejectedError';
  }
}
