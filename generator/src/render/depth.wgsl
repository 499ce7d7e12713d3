// Writes each fragment's depth along the camera's viewing axis, in metres, to every channel.
#import bevy_pbr::forward_io::VertexOutput
#import bevy_pbr::mesh_view_bindings::view

@fragment
fn fragment(in: VertexOutput) -> @location(0) vec4<f32> {
    let view_position = view.view_from_world * vec4<f32>(in.world_position.xyz, 1.0);
    let depth = -view_position.z;
    return vec4<f32>(depth, depth, depth, 1.0);
}
