package org.hospes.dom0.boot.loader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.hospes.dom0.plugin.HostPlugins;
import org.hospes.dom0.testing.ElfImageBuilder;
import org.junit.jupiter.api.Test;

/** Which loader boots an image in a mode, and the errors for impossible choices. */
class KernelLoadersTest {
  private static final long BASE = 0x10_0000;
  private final KernelLoaders loaders = KernelLoaders.builtIn();

  private static byte[] multiboot() {
    return ElfImageBuilder.multibootKernel(new byte[] {(byte) 0xF4});
  }

  private static byte[] plainElf() {
    return new ElfImageBuilder().entry(BASE).segment(BASE, new byte[] {(byte) 0xF4}, 1).build();
  }

  private static byte[] pvh() {
    return new ElfImageBuilder().entry(BASE).segment(BASE, new byte[] {(byte) 0xF4}, 1)
        .pvhEntryNote(BASE).build();
  }

  /** A Multiboot header and a PVH note in one image, as XTF's hvm32 kernels have. */
  private static byte[] multibootAndPvh() {
    byte[] text = ElfImageBuilder.concat(ElfImageBuilder.multibootHeader(0x3),
        new byte[] {(byte) 0xF4});
    return new ElfImageBuilder().entry(BASE + 12).segment(BASE, text, text.length)
        .pvhEntryNote(BASE + 12).build();
  }

  private String chosen(BootMode mode, byte[] image) throws Exception {
    return loaders.choose(null, mode, image).name();
  }

  @Test
  void theBuiltInsAreLinuxMultibootPvhAndElf() {
    assertThat(loaders.names()).containsExactly("elf", "linux", "multiboot", "pvh");
  }

  @Test
  void eachKernelGoesToTheMostSpecificLoaderThatBootsTheMode() throws Exception {
    assertThat(chosen(BootMode.NATIVE, multiboot())).isEqualTo("multiboot");
    assertThat(chosen(BootMode.HVM, multiboot())).isEqualTo("multiboot");
    assertThat(chosen(BootMode.NATIVE, plainElf())).isEqualTo("elf");
    assertThat(chosen(BootMode.HVM_SHADOW, plainElf())).isEqualTo("elf");
    assertThat(chosen(BootMode.PVH, pvh())).isEqualTo("pvh");
    assertThat(chosen(BootMode.HVM, pvh())).isEqualTo("pvh");
    assertThat(chosen(BootMode.HVM_SHADOW, pvh())).isEqualTo("pvh");
    // No hypercalls on the bare machine: the PVH note means nothing there, the ELF still boots.
    assertThat(chosen(BootMode.NATIVE, pvh())).isEqualTo("elf");
    // Both formats in one image: PVH outranks Multiboot where it can boot.
    assertThat(chosen(BootMode.HVM, multibootAndPvh())).isEqualTo("pvh");
    assertThat(chosen(BootMode.NATIVE, multibootAndPvh())).isEqualTo("multiboot");
  }

  @Test
  void aBzImageIsTakenByThePvhLoaderWithoutUnpackingIt() throws Exception {
    byte[] bz = new byte[0x400];
    bz[0x1FE] = 0x55;
    bz[0x1FF] = (byte) 0xAA;
    bz[0x202] = 'H';
    bz[0x203] = 'd';
    bz[0x204] = 'r';
    bz[0x205] = 'S';
    bz[0x206] = 0x0F; // boot protocol 2.15
    bz[0x207] = 0x02;
    assertThat(new PvhKernelLoader().recognises(bz)).isTrue();
    assertThat(chosen(BootMode.PVH, bz)).isEqualTo("pvh");
  }

  @Test
  void aBzImageBootsByTheLinuxBootProtocolEverywhereButPvh() throws Exception {
    byte[] bz = new org.hospes.dom0.testing.BzImageBuilder().build();
    assertThat(chosen(BootMode.NATIVE, bz)).isEqualTo("linux");
    assertThat(chosen(BootMode.HVM, bz)).isEqualTo("linux");
    assertThat(chosen(BootMode.HVM_SHADOW, bz)).isEqualTo("linux");
    assertThat(chosen(BootMode.PVHVM, bz)).isEqualTo("linux");
    assertThat(chosen(BootMode.PVH, bz)).isEqualTo("pvh");
    assertThat(loaders.choose("pvh", BootMode.HVM, bz).name()).isEqualTo("pvh");
  }

  @Test
  void whenNothingRecognisesTheImageTheModesClassicLoaderExplainsWhy() throws Exception {
    byte[] script = "#!/bin/sh\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    assertThat(chosen(BootMode.NATIVE, script)).isEqualTo("multiboot");
    assertThat(chosen(BootMode.PVH, multiboot())).isEqualTo("pvh");
  }

  @Test
  void aForcedLoaderIsUsedEvenWhenAnotherRanksHigher() throws Exception {
    assertThat(loaders.choose("elf", BootMode.NATIVE, multiboot()).name()).isEqualTo("elf");
  }

  @Test
  void anUnknownLoaderIsRefusedWithTheKnownOnes() {
    assertThatThrownBy(() -> loaders.choose("grub", BootMode.NATIVE, multiboot()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("unknown loader 'grub'; known loaders: elf, linux, multiboot, pvh (a plugin"
            + " jar on --plugin-path, in ~/.hospes/plugins or in HOSPES_CLASSPATH adds more)");
  }

  @Test
  void aLoaderThatCannotBootTheModeIsRefusedNamingBoth() {
    assertThatThrownBy(() -> loaders.forced("multiboot", BootMode.PVH))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("loader 'multiboot' cannot boot mode pvh (it boots native, hvm,"
            + " hvm-shadow, pvhvm)");
    assertThatThrownBy(() -> loaders.forced("pvh", BootMode.NATIVE))
        .hasMessage("loader 'pvh' cannot boot mode native (it boots hvm, hvm-shadow, pvhvm, pvh)");
  }

  @Test
  void theDiscoveredLoadersIncludeTheBuiltIns() {
    assertThat(HostPlugins.classPath().kernelLoaders().names())
        .contains("elf", "linux", "multiboot", "pvh");
  }

  @Test
  void aBindingWhoseKeyIsNotTheLoadersNameIsABug() {
    assertThatThrownBy(() -> new KernelLoaders(java.util.Map.of("mb",
        new MultibootKernelLoader())))
        .hasMessage("loader bound as 'mb' calls itself 'multiboot'");
  }
}
