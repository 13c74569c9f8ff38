import CMiniLMKernels

/// A dense layer's weight W[out][in]: the mapped tensor, plus copies packed for the AVX-512
/// kernels (f32 panels for short inputs, bf16 pairs for the reduced-precision path).
final class PackedWeight: @unchecked Sendable {
    // @unchecked: the packed buffers are written once in init and only read afterwards.
    let tensor: FloatTensor
    let outputs: Int
    let inputs: Int
    let float32Panels: UnsafeMutablePointer<Float>?
    let bfloat16Panels: UnsafeMutablePointer<UInt16>?

    init(_ tensor: FloatTensor, packFloat32: Bool, packBFloat16: Bool) {
        self.tensor = tensor
        outputs = tensor.shape[0]
        inputs = tensor.shape[1]
        let packable = outputs % 32 == 0 && inputs % 32 == 0
        if packFloat32 && packable {
            let panels = AlignedMemory.allocate(Float.self, capacity: outputs * inputs)
            mlk_pack_f32(tensor.pointer, Int32(outputs), Int32(inputs), panels)
            float32Panels = panels
        } else {
            float32Panels = nil
        }
        if packBFloat16 && packable {
            let panels = AlignedMemory.allocate(UInt16.self, capacity: outputs * inputs)
            mlk_pack_bf16(tensor.pointer, Int32(outputs), Int32(inputs), panels)
            bfloat16Panels = panels
        } else {
            bfloat16Panels = nil
        }
    }

    deinit {
        float32Panels.map(AlignedMemory.deallocate)
        bfloat16Panels.map(AlignedMemory.deallocate)
    }

    var pointer: UnsafePointer<Float> { tensor.pointer }
}
