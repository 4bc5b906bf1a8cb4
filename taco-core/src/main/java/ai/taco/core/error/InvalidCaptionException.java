package ai.taco.core.error;

/** A caption that is not valid Unicode text (undecodable UTF-8 bytes, or unpaired surrogates in a String). */
public class InvalidCaptionException extends ClipException {
  private static final long serialVersionUID = 1L;

  public InvalidCaptionException(String message) {
    super(message);
  }
}
