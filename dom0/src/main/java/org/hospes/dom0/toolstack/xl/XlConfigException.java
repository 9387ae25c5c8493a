package org.hospes.dom0.toolstack.xl;

/** A domain configuration that cannot be used; the message names the file, line and key. */
public final class XlConfigException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public XlConfigException(String message) {
    super(message);
  }
}
