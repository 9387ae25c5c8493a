package org.hospes.x86;

/** Exception vectors (Intel SDM vol. 3, table 6-1). */
public final class Exceptions {
  public static final int DE = 0;
  public static final int DB = 1;
  public static final int NMI = 2;
  public static final int BP = 3;
  public static final int OF = 4;
  public static final int BR = 5;
  public static final int UD = 6;
  public static final int NM = 7;
  public static final int DF = 8;
  public static final int TS = 10;
  public static final int NP = 11;
  public static final int SS = 12;
  public static final int GP = 13;
  public static final int PF = 14;
  public static final int MF = 16;
  public static final int AC = 17;
  public static final int MC = 18;
  public static final int XM = 19;

  private static final String[] MNEMONICS = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#09", "#TS", "#NP", "#SS",
    "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM"
  };

  private Exceptions() {}

  public static String mnemonic(int vector) {
    return vector >= 0 && vector < MNEMONICS.length ? MNEMONICS[vector] : "#" + vector;
  }

  /**
   * "#PF, error code 0x2, cr2=0x00001000": an exception for a one-line crash report (CR2 only
   * for #PF, where it says which address faulted).
   */
  public static String describe(int vector, int errorCode, int cr2) {
    String text = mnemonic(vector) + ", error code "
        + (errorCode == 0 ? "0" : "0x" + Integer.toHexString(errorCode));
    return vector == PF ? text + String.format(", cr2=0x%08x", cr2) : text;
  }
}
