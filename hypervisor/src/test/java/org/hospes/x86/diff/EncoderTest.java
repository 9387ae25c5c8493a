package org.hospes.x86.diff;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Plain unit tests of the encoder and generators, against encodings checked by hand in the SDM. */
class EncoderTest {

  private static String hex(byte[] b) {
    return Hex.bytes(b);
  }

  @Test
  void registerFormIsTheSameForHostAndEmulator() {
    Insn i = new Insn.Builder(true).op(0x01).modrmReg(Regs.EBX, Regs.EAX).build("add eax, ebx");
    assertThat(hex(i.ref())).isEqualTo("01 d8");
    assertThat(hex(i.emu())).isEqualTo("01 d8");
  }

  @Test
  void memoryFormGainsTheAddressSizePrefixOnlyOnTheHost() {
    Mem m = new Mem(Regs.EBX, Regs.ESI, 2, 0x10, 1, false);
    Insn i = new Insn.Builder(true).op(0x01).modrmMem(Regs.EAX, m).build("add");
    assertThat(hex(i.ref())).isEqualTo("67 01 44 b3 10");
    assertThat(hex(i.emu())).isEqualTo("01 44 b3 10");
    assertThat(m.text(32)).isEqualTo("dword [ebx+esi*4+0x10]");
  }

  @Test
  void absoluteAddressUsesSibOnTheHostBecauseModZeroRm101IsRipRelativeThere() {
    Mem m = Mem.absolute(0x8010, true);
    Insn i = new Insn.Builder(true).op(0x8B).modrmMem(Regs.ECX, m).build("mov ecx, [0x8010]");
    assertThat(hex(i.ref())).isEqualTo("67 8b 0c 25 10 80 00 00");
    assertThat(hex(i.emu())).isEqualTo("8b 0d 10 80 00 00");
  }

  @Test
  void legacyPrefixesPrecedeTheAddressSizePrefix() {
    Mem m = new Mem(Regs.EAX, -1, 0, 0, 0, false);
    Insn i = new Insn.Builder(true).prefix(0xF0).prefix(0x66).op(0x01).modrmMem(Regs.EDX, m)
        .build("lock add [eax], dx");
    assertThat(hex(i.ref())).isEqualTo("f0 66 67 01 10");
    assertThat(hex(i.emu())).isEqualTo("f0 66 01 10");
  }

  @Test
  void ebpAndEspBasesGetTheirSpecialEncodings() {
    assertThat(hex(new Insn.Builder(false).op(0x8B).modrmMem(0, new Mem(Regs.EBP, -1, 0, 0, 0, false))
        .build("").emu())).isEqualTo("8b 45 00");
    assertThat(hex(new Insn.Builder(false).op(0x8B).modrmMem(0, new Mem(Regs.ESP, -1, 0, 4, 1, false))
        .build("").emu())).isEqualTo("8b 44 24 04");
    assertThat(hex(new Insn.Builder(false).op(0x8B).modrmMem(0, new Mem(-1, Regs.ECX, 3, 8, 4, false))
        .build("").emu())).isEqualTo("8b 04 cd 08 00 00 00");
  }

  @Test
  void espCannotBeAnIndex() {
    assertThatThrownBy(() -> new Mem(Regs.EAX, Regs.ESP, 0, 0, 0, false))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void sixteenBitOperandsEncodeAsTheSdmTableSays() {
    Insn bxsi = new Insn.Builder(false).prefix(0x67).op(0x8B).modrmMem16(Regs.EAX, new Mem16(0, 0, 0))
        .build("");
    assertThat(hex(bxsi.emu())).isEqualTo("67 8b 00");
    Mem16 abs = new Mem16(6, 0, 0x8123);
    assertThat(hex(new Insn.Builder(false).prefix(0x67).op(0x8B).modrmMem16(Regs.ECX, abs)
        .build("").emu())).isEqualTo("67 8b 0e 23 81");
    assertThat(abs.address(new int[8])).isEqualTo(0x8123);
    Mem16 bpdi = new Mem16(3, 1, -2);
    int[] regs = new int[8];
    regs[Regs.EBP] = 0xABCD_0001;
    regs[Regs.EDI] = 0x1234_0000;
    assertThat(bpdi.address(regs)).isEqualTo(0xFFFF);
    assertThat(bpdi.text(16)).isEqualTo("word [a16 bp+di-0x2]");
  }

  @Test
  void generatedMemoryOperandsHitTheirTargetWithWrapAround() {
    SplittableRandom rnd = new SplittableRandom(1);
    for (int i = 0; i < 10_000; i++) {
      DiffCase c = new DiffCase(256);
      Gen g = new Gen(rnd, c, true);
      int target = Layout.SCRATCH_ADDR + rnd.nextInt(256);
      int avoid = rnd.nextInt(256) & ~(1 << Regs.EAX);
      Mem m = g.memAt(target, avoid);
      assertThat(m.address(c.regs)).isEqualTo(target);
      assertThat(m.base < 0 || (avoid & (1 << m.base)) == 0).isTrue();
      assertThat(m.index < 0 || (avoid & (1 << m.index)) == 0).isTrue();
      Mem16 m16 = g.mem16At(target, 0);
      assertThat(m16.address(c.regs)).isEqualTo(target & 0xFFFF);
    }
  }

  @Test
  void subRegistersReadAndWriteTheRightBits() {
    int[] r = {0x11223344, 0, 0, 0, 0, 0, 0, 0};
    assertThat(Regs.get(r, 8, 4)).isEqualTo(0x33); // AH
    Regs.set(r, 8, 4, 0xAB);
    assertThat(r[0]).isEqualTo(0x1122AB44);
    Regs.set(r, 16, 0, 0xFFFF);
    assertThat(r[0]).isEqualTo(0x1122FFFF);
  }

  @Test
  void flagMasksFollowTheSdmRules() {
    int all = DefinedFlags.COMPARABLE;
    int of = org.hospes.x86.Flags.OF;
    int cf = org.hospes.x86.Flags.CF;
    int af = org.hospes.x86.Flags.AF;
    assertThat(DefinedFlags.shift(4, 8, 0)).isEqualTo(all);
    assertThat(DefinedFlags.shift(4, 8, 32)).isEqualTo(all); // masked count 0
    assertThat(DefinedFlags.shift(4, 8, 1)).isEqualTo(all & ~af);
    assertThat(DefinedFlags.shift(5, 8, 8)).isEqualTo(all & ~(af | of | cf));
    assertThat(DefinedFlags.shift(7, 8, 8)).isEqualTo(all & ~(af | of));
    assertThat(DefinedFlags.shift(4, 32, 31)).isEqualTo(all & ~(af | of));
    assertThat(DefinedFlags.rotate(1)).isEqualTo(all);
    assertThat(DefinedFlags.rotate(9)).isEqualTo(all & ~of);
    assertThat(DefinedFlags.shiftDouble(16, 17)).isEqualTo(org.hospes.x86.Flags.DF);
    assertThat(DefinedFlags.shiftDouble(16, 16)).isEqualTo(all & ~(af | of));
    assertThat(DefinedFlags.shiftDoubleResultUndefined(32, 40)).isFalse(); // masked to 8
  }

  @Test
  void everyFormGeneratesDeterministicallyFromItsSeed() {
    for (int i = 0; i < 2_000; i++) {
      DiffCase a = HostForms.generate(new SplittableRandom(i), 256, true);
      DiffCase b = HostForms.generate(new SplittableRandom(i), 256, true);
      assertThat(a.refCode).isEqualTo(b.refCode);
      assertThat(a.regs).isEqualTo(b.regs);
      // at most 15 bytes (16 for the #GP case), plus a 3-byte flag reader
      assertThat(a.refCode.length).isLessThanOrEqualTo(
          (a.form.startsWith("16-byte") ? 16 : 15) + (a.maxSteps == 2 ? 3 : 0));
      DiffCase q = QemuForms.generate(new SplittableRandom(i), 512);
      assertThat(q.refCode).isEqualTo(q.emuCode);
      assertThat(q.refCode.length).isLessThanOrEqualTo(Layout.CODE_MAX);
    }
  }

  @Test
  void hostEncodingDiffersFromTheEmulatorsOnlyByAddressSizeAndSib() {
    for (int i = 0; i < 5_000; i++) {
      DiffCase c = HostForms.generate(new SplittableRandom(i), 256, true);
      int extra = c.refCode.length - c.emuCode.length;
      assertThat(extra).isBetween(0, 2);
      if (extra > 0) {
        assertThat(Hex.bytes(c.refCode)).contains("67");
      }
    }
  }
}
